/// @file
/// @brief Who this process is in a multi-process run, and the few collective operations the
/// experiment layer needs (barrier, broadcast from rank 0, gather to rank 0), as plain functions:
/// the experiment, the stage runner and the arena use them without depending on MPI.
///
/// `transcendence/distributed/mpi.hpp` makes one over MPI (`mpi_rank_context`); the default is a
/// single process, where every operation is trivial.
#pragma once

#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "transcendence/core/error.hpp"

namespace transcendence {

/// @brief This process's place among the ranks of a run and the collectives between them.
///
/// Every function is *collective*: each rank calls it, in the same order. Rank 0 is the one that
/// writes files and logs. A default-constructed context is one process (rank 0 of 1); then the
/// functions may be empty and are never called.
/// @code
/// transcendence::rank_context ranks;               // one process
/// ranks.on_root([&] { write_report(); });           // rank 0 works, the others wait for it
/// const std::string plan = ranks.share(ranks.root() ? decide() : "");  // rank 0's decision everywhere
/// @endcode
struct rank_context {
  int rank = 0;   ///< This process's rank, in [0, ranks).
  int ranks = 1;  ///< Number of ranks.
  /// @brief Waits until every rank has called it (a rank waiting here should not spin).
  std::function<void()> barrier;
  /// @brief Replaces every rank's string by rank 0's.
  std::function<void(std::string&)> broadcast;
  /// @brief Every rank's string, in rank order, on rank 0 (empty on the others).
  std::function<std::vector<std::string>(const std::string&)> gather;
  /// @brief Set when a failure was agreed on by every rank (see @ref agree): each rank then ends
  /// by itself, and no rank waits in a collective for another.
  std::shared_ptr<std::atomic<bool>> agreed_failure = std::make_shared<std::atomic<bool>>(false);

  /// @brief Whether this is rank 0.
  /// @return true on rank 0 (and in a single process).
  [[nodiscard]] bool root() const noexcept { return rank == 0; }
  /// @brief Whether more than one process takes part.
  /// @return ranks > 1.
  [[nodiscard]] bool distributed() const noexcept { return ranks > 1; }
  /// @brief Whether a failure that ended the run was agreed on by every rank.
  /// @return true after @ref agree saw a failure on some rank.
  [[nodiscard]] bool failed_together() const noexcept { return agreed_failure && agreed_failure->load(); }

  /// @brief Waits for every rank (collective; nothing in a single process).
  void sync() const {
    if (distributed()) barrier();
  }

  /// @brief Rank 0's value on every rank (collective).
  /// @param value this rank's value (only rank 0's matters).
  /// @return rank 0's value.
  [[nodiscard]] std::string share(std::string value) const {
    if (distributed()) broadcast(value);
    return value;
  }

  /// @brief Every rank's value on rank 0 (collective).
  /// @param value this rank's value.
  /// @return on rank 0, one value per rank in rank order; elsewhere, nothing.
  [[nodiscard]] std::vector<std::string> collect(const std::string& value) const {
    if (!distributed()) return {value};
    return gather(value);
  }

  /// @brief Makes a failure on any rank a failure on every rank (collective): each rank passes
  /// what it caught (or nothing); when some rank failed, every rank throws, the rank that failed
  /// its own exception and the others an error of the same kind (`config_error`,
  /// `interrupted_error`, `io_error`, `format_error`, `numeric_error`, `engine_error`, else
  /// `error`) naming the first rank that failed and its message.
  /// @param failure this rank's exception, or null.
  /// @throws the agreed failure.
  void agree(std::exception_ptr failure) const {
    if (!distributed()) {
      if (failure) std::rethrow_exception(failure);
      return;
    }
    const std::vector<std::string> all = gather(failure ? describe(failure) : std::string());
    std::string first;
    for (std::size_t r = 0; r < all.size() && first.empty(); ++r)
      if (!all[r].empty()) first = all[r].substr(0, 1) + "rank " + std::to_string(r) + ": " + all[r].substr(1);
    broadcast(first);
    if (first.empty()) return;
    if (agreed_failure) agreed_failure->store(true);
    if (failure) std::rethrow_exception(failure);
    const std::string what = first.substr(1);
    switch (first[0]) {
      case 'C': throw config_error(what);
      case 'I': throw interrupted_error(what);
      case 'O': throw io_error(what);
      case 'F': throw format_error(what);
      case 'N': throw numeric_error(what);
      case 'G': throw engine_error(what);
      default: throw error(what);
    }
  }

  /// @brief Runs @p work on rank 0 alone while the other ranks wait, then agrees on its failure
  /// (collective).
  /// @tparam F a callable without arguments.
  /// @param work the work.
  /// @throws what @p work threw, on every rank (see @ref agree).
  template <class F>
  void on_root(F&& work) const {
    std::exception_ptr failure;
    if (root()) {
      try {
        std::forward<F>(work)();
      } catch (...) {
        failure = std::current_exception();
      }
    }
    agree(failure);
  }

 private:
  // One letter for the kind of error, then its message.
  static std::string describe(std::exception_ptr failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const config_error& e) {
      return std::string("C") + e.what();
    } catch (const interrupted_error& e) {
      return std::string("I") + e.what();
    } catch (const io_error& e) {
      return std::string("O") + e.what();
    } catch (const format_error& e) {
      return std::string("F") + e.what();
    } catch (const numeric_error& e) {
      return std::string("N") + e.what();
    } catch (const engine_error& e) {
      return std::string("G") + e.what();
    } catch (const std::exception& e) {
      return std::string("E") + e.what();
    } catch (...) {
      return "Eunknown exception";
    }
  }
};

}  // namespace transcendence

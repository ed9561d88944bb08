/// @file
/// @brief Data-parallel training over MPI: an RAII session, collective helpers, and the trainer's
/// MPI gradient-reduction policy (the gradients summed over the ranks in buckets with
/// `MPI_Allreduce`).
///
/// Not part of the umbrella header: it needs an MPI library (CMake target `transcendence::mpi`;
/// Debian `libopenmpi-dev openmpi-bin`), which the rest of the library does not. Only MPI's C API
/// is used.
#pragma once

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "transcendence/backend/concepts.hpp"
#include "transcendence/core/error.hpp"
#include "transcendence/core/types.hpp"
#include "transcendence/distributed/concepts.hpp"
#include "transcendence/distributed/ranks.hpp"
#include "transcendence/model/gpt.hpp"
#include "transcendence/model/trainer.hpp"

namespace transcendence {

/// @brief An MPI call failed (only raised when the communicator's error handler returns errors;
/// MPI's default handler aborts the job instead).
class mpi_error : public error {
 public:
  using error::error;
};

namespace detail {
inline void mpi_check(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(rc, text, &length) != MPI_SUCCESS) length = 0;
  throw mpi_error(std::string(call) + " failed: " + std::string(text, static_cast<std::size_t>(length)));
}
}  // namespace detail

/// @brief The MPI library's lifetime in a program: `MPI_Init_thread` on construction,
/// `MPI_Finalize` on destruction, and who this process is.
///
/// Create one at the top of `main`, before any other MPI use; run the program under `mpirun`
/// (without it, the program is one rank of one). If MPI was already initialised, the session
/// adopts it and leaves finalising to whoever initialised it. Only the thread that created the
/// session may call MPI (`MPI_THREAD_FUNNELED` by default: the backends' OpenMP threads never do).
/// A rank that fails should end with @ref abort, so that `mpirun` stops the ranks still waiting
/// for it in a collective.
/// @code
/// int main(int argc, char** argv) {
///   transcendence::mpi_session mpi(argc, argv);
///   if (mpi.is_root()) std::printf("%s\n", mpi.description().c_str());  // "rank 0 of 2, Open MPI v4.1.4, ..."
///   try {
///     // ... train with transcendence::mpi_trainer<B> ...
///   } catch (const std::exception& e) {
///     std::fprintf(stderr, "rank %d: %s\n", mpi.rank(), e.what());
///     mpi.abort(1);
///   }
/// }
/// @endcode
class mpi_session {
 public:
  /// @brief Initialises MPI without command-line arguments.
  /// @param required the thread support needed (`MPI_THREAD_SINGLE` … `MPI_THREAD_MULTIPLE`).
  /// @throws mpi_error when MPI cannot provide @p required.
  explicit mpi_session(int required = MPI_THREAD_FUNNELED) { start(nullptr, nullptr, required); }

  /// @brief Initialises MPI with `main`'s arguments (MPI may remove its own from them).
  /// @param argc argument count, as given to `main`.
  /// @param argv arguments, as given to `main`.
  /// @param required the thread support needed.
  /// @throws mpi_error when MPI cannot provide @p required.
  mpi_session(int& argc, char**& argv, int required = MPI_THREAD_FUNNELED) { start(&argc, &argv, required); }

  mpi_session(const mpi_session&) = delete;             ///< One per program: not copyable.
  mpi_session& operator=(const mpi_session&) = delete;  ///< Not copyable.

  /// @brief Finalises MPI when this session initialised it.
  ~mpi_session() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (m_owner && !finalized) MPI_Finalize();
  }

  /// @brief This process's rank in `MPI_COMM_WORLD`.
  /// @return the rank, in [0, size()).
  [[nodiscard]] int rank() const noexcept { return m_rank; }
  /// @brief Number of ranks in `MPI_COMM_WORLD`.
  /// @return the count (1 without `mpirun`).
  [[nodiscard]] int size() const noexcept { return m_size; }
  /// @brief Whether this is rank 0, the one that writes files and logs.
  /// @return true on rank 0.
  [[nodiscard]] bool is_root() const noexcept { return m_rank == 0; }
  /// @brief The communicator of all ranks.
  /// @return `MPI_COMM_WORLD`.
  [[nodiscard]] MPI_Comm communicator() const noexcept { return MPI_COMM_WORLD; }
  /// @brief The thread support MPI provides.
  /// @return `MPI_THREAD_SINGLE` … `MPI_THREAD_MULTIPLE`.
  [[nodiscard]] int thread_level() const noexcept { return m_provided; }

  /// @brief Waits until every rank has called it.
  void barrier() const { detail::mpi_check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }

  /// @brief Ends every rank of the job at once (`MPI_Abort`): what a rank that failed calls.
  /// @param code the exit code `mpirun` reports.
  [[noreturn]] void abort(int code) const noexcept {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);  // MPI_Abort does not return; this keeps [[noreturn]] honest if it did
  }

  /// @brief One line for a log: the rank, the rank count and the MPI library.
  /// @return e.g. "rank 0 of 2, Open MPI v4.1.4, ...".
  [[nodiscard]] std::string description() const {
    char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int length = 0;
    if (MPI_Get_library_version(version, &length) != MPI_SUCCESS) length = 0;
    std::string library(version, static_cast<std::size_t>(length));
    if (const auto eol = library.find_first_of("\r\n"); eol != std::string::npos) library.resize(eol);
    return "rank " + std::to_string(m_rank) + " of " + std::to_string(m_size) + (library.empty() ? "" : ", ") + library;
  }

 private:
  void start(int* argc, char*** argv, int required) {
    int initialized = 0;
    detail::mpi_check(MPI_Initialized(&initialized), "MPI_Initialized");
    if (initialized) {
      detail::mpi_check(MPI_Query_thread(&m_provided), "MPI_Query_thread");
    } else {
      detail::mpi_check(MPI_Init_thread(argc, argv, required, &m_provided), "MPI_Init_thread");
      m_owner = true;
    }
    detail::mpi_check(MPI_Comm_rank(MPI_COMM_WORLD, &m_rank), "MPI_Comm_rank");
    detail::mpi_check(MPI_Comm_size(MPI_COMM_WORLD, &m_size), "MPI_Comm_size");
    if (m_provided < required) {
      if (m_owner) MPI_Finalize();
      m_owner = false;
      throw mpi_error("MPI provides thread support level " + std::to_string(m_provided) + ", below the " +
                      std::to_string(required) + " required");
    }
  }

  bool m_owner = false;
  int m_provided = MPI_THREAD_SINGLE;
  int m_rank = 0;
  int m_size = 1;
};

/// @brief Whether this process was started by an MPI launcher (`mpirun`, `mpiexec`, `srun`), from
/// the variables the launchers set (Open MPI's `OMPI_COMM_WORLD_SIZE`, PMI's `PMI_SIZE`, PMIx's
/// `PMIX_RANK`). A program that may also run alone can skip MPI entirely when it was not: MPI's
/// "singleton" start takes about a second.
/// @return true under a launcher.
inline bool mpi_launched() noexcept {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (const char* x = std::getenv(v); x && *x) return true;
  return false;
}

/// @brief The sum of a value over the ranks of a communicator (the same on every rank).
/// @param value this rank's value.
/// @param comm the communicator.
/// @return the sum.
inline double mpi_sum(double value, MPI_Comm comm = MPI_COMM_WORLD) {
  double total = 0.0;
  detail::mpi_check(MPI_Allreduce(&value, &total, 1, MPI_DOUBLE, MPI_SUM, comm), "MPI_Allreduce");
  return total;
}

/// @brief Whether a flag is set on any rank of a communicator (the same answer on every rank).
/// @param flag this rank's flag.
/// @param comm the communicator.
/// @return true when some rank passed true.
inline bool mpi_any(bool flag, MPI_Comm comm = MPI_COMM_WORLD) {
  int mine = flag ? 1 : 0, any = 0;
  detail::mpi_check(MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_LOR, comm), "MPI_Allreduce");
  return any != 0;
}

namespace detail {
// Completes a request without spinning: MPI_Test, then a sleep that doubles up to 20 ms. A rank
// that waits minutes for rank 0 (which alone writes a report, say) then costs no core.
inline void mpi_wait_idle(MPI_Request& request) {
  auto pause = std::chrono::microseconds(50);
  for (;;) {
    int done = 0;
    mpi_check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (done) return;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(20000));
  }
}
inline constexpr int mpi_gather_tag = 0x7d15;
inline constexpr std::size_t mpi_chunk = std::size_t{1} << 30U;  // bytes per message (below INT_MAX)
}  // namespace detail

/// @brief Waits until every rank of a communicator has called it, sleeping between polls instead
/// of spinning (`MPI_Ibarrier` and `MPI_Test`): for ranks that wait long for another.
/// @param comm the communicator.
inline void mpi_idle_barrier(MPI_Comm comm = MPI_COMM_WORLD) {
  MPI_Request request;
  detail::mpi_check(MPI_Ibarrier(comm, &request), "MPI_Ibarrier");
  detail::mpi_wait_idle(request);
}

/// @brief Replaces every rank's string by rank 0's (collective; waits without spinning).
/// @param value this rank's string; rank 0's on return.
/// @param comm the communicator.
inline void mpi_broadcast(std::string& value, MPI_Comm comm = MPI_COMM_WORLD) {
  unsigned long long size = value.size();
  MPI_Request request;
  detail::mpi_check(MPI_Ibcast(&size, 1, MPI_UNSIGNED_LONG_LONG, 0, comm, &request), "MPI_Ibcast");
  detail::mpi_wait_idle(request);
  value.resize(static_cast<std::size_t>(size));
  for (std::size_t at = 0; at < value.size(); at += detail::mpi_chunk) {
    const auto count = static_cast<int>(std::min(detail::mpi_chunk, value.size() - at));
    detail::mpi_check(MPI_Ibcast(value.data() + at, count, MPI_CHAR, 0, comm, &request), "MPI_Ibcast");
    detail::mpi_wait_idle(request);
  }
}

/// @brief Every rank's string on rank 0, in rank order (collective; point-to-point messages,
/// waits without spinning, any size).
/// @param value this rank's string.
/// @param comm the communicator.
/// @return on rank 0 one string per rank; on the others nothing.
inline std::vector<std::string> mpi_gather(const std::string& value, MPI_Comm comm = MPI_COMM_WORLD) {
  int rank = 0, ranks = 1;
  detail::mpi_check(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
  detail::mpi_check(MPI_Comm_size(comm, &ranks), "MPI_Comm_size");
  MPI_Request request;
  const int tag = detail::mpi_gather_tag;
  if (rank != 0) {
    unsigned long long size = value.size();
    detail::mpi_check(MPI_Isend(&size, 1, MPI_UNSIGNED_LONG_LONG, 0, tag, comm, &request), "MPI_Isend");
    detail::mpi_wait_idle(request);
    for (std::size_t at = 0; at < value.size(); at += detail::mpi_chunk) {
      const auto count = static_cast<int>(std::min(detail::mpi_chunk, value.size() - at));
      detail::mpi_check(MPI_Isend(value.data() + at, count, MPI_CHAR, 0, tag, comm, &request), "MPI_Isend");
      detail::mpi_wait_idle(request);
    }
    return {};
  }
  std::vector<std::string> all(static_cast<std::size_t>(ranks));
  all[0] = value;
  for (int r = 1; r < ranks; ++r) {
    unsigned long long size = 0;
    detail::mpi_check(MPI_Irecv(&size, 1, MPI_UNSIGNED_LONG_LONG, r, tag, comm, &request), "MPI_Irecv");
    detail::mpi_wait_idle(request);
    std::string& s = all[static_cast<std::size_t>(r)];
    s.resize(static_cast<std::size_t>(size));
    for (std::size_t at = 0; at < s.size(); at += detail::mpi_chunk) {
      const auto count = static_cast<int>(std::min(detail::mpi_chunk, s.size() - at));
      detail::mpi_check(MPI_Irecv(s.data() + at, count, MPI_CHAR, r, tag, comm, &request), "MPI_Irecv");
      detail::mpi_wait_idle(request);
    }
  }
  return all;
}

/// @brief The experiment layer's view of an MPI communicator: its rank and size, and barrier,
/// broadcast and gather that wait without spinning (transcendence::mpi_idle_barrier(), transcendence::mpi_broadcast(),
/// transcendence::mpi_gather()).
/// @param comm the communicator; it must outlive the context.
/// @return the context.
/// @code
/// transcendence::mpi_session mpi(argc, argv);
/// settings.ranks = transcendence::mpi_rank_context();  // experiment<G, T, E>::settings
/// @endcode
inline rank_context mpi_rank_context(MPI_Comm comm = MPI_COMM_WORLD) {
  rank_context c;
  detail::mpi_check(MPI_Comm_rank(comm, &c.rank), "MPI_Comm_rank");
  detail::mpi_check(MPI_Comm_size(comm, &c.ranks), "MPI_Comm_size");
  c.barrier = [comm] { mpi_idle_barrier(comm); };
  c.broadcast = [comm](std::string& value) { mpi_broadcast(value, comm); };
  c.gather = [comm](const std::string& value) { return mpi_gather(value, comm); };
  return c;
}

class reference_backend;
class onednn_backend;

/// @brief Whether a backend's device pointers are ordinary host memory that MPI can read and
/// write in place (true for the reference and oneDNN backends). A backend of your own on host
/// memory specialises it to true; otherwise its gradients go through a host staging buffer.
/// @tparam B the backend.
template <class B>
inline constexpr bool backend_memory_on_host = false;
/// @brief The reference backend's buffers are host memory.
template <>
inline constexpr bool backend_memory_on_host<reference_backend> = true;
/// @brief The oneDNN backend's buffers are host memory.
template <>
inline constexpr bool backend_memory_on_host<onednn_backend> = true;

/// @brief Settings of @ref mpi_gradient_reducer.
struct mpi_reducer_options {
  /// @brief Bytes of gradient per `MPI_Allreduce` (the last bucket is shorter). Buckets bound the
  /// staging memory and let a large gradient stream through the network in pieces.
  std::size_t bucket_bytes = std::size_t{4} << 20U;
  /// @brief Copy the gradients through the host staging buffer even when the backend's memory is
  /// host memory: the path a device backend takes, here to test it without a device.
  bool stage_through_host = false;

  /// @brief Checks the values.
  /// @throws config_error when a bucket holds no float or more than `INT_MAX` of them.
  void validate() const {
    if (bucket_bytes < sizeof(float) || bucket_bytes / sizeof(float) > static_cast<std::size_t>(INT_MAX))
      throw config_error("mpi_reducer_options: bucket_bytes must hold between 1 and INT_MAX floats");
  }
};

/// @brief The data-parallel gradient-reduction policy of `trainer`. The ranks of an MPI
/// communicator sum their gradients with `MPI_Allreduce` (`MPI_FLOAT`, `MPI_SUM`) after the
/// backward passes of every step, in buckets of `bucket_bytes`.
///
/// Backends whose memory is host memory (`backend_memory_on_host`) are reduced in place
/// (`MPI_IN_PLACE`, no copy). Any other backend goes through one device bucket and one host bucket
/// allocated by prepare(). Each bucket is copied on the device into the staging bucket,
/// downloaded, reduced, uploaded and copied back, with the backend's own operations only. No step
/// allocates. Losses and stop requests are reduced with mpi_sum() and mpi_any().
///
/// Every rank must hold the same model (same seed or the same checkpoint) and run the same
/// trainer calls; the reduced gradients are identical on every rank (as MPI implementations
/// guarantee for built-in reductions), so the parameters stay identical too.
/// @tparam B the backend.
/// @code
/// transcendence::mpi_session mpi(argc, argv);
/// transcendence::onednn_backend be;
/// transcendence::gpt_model<transcendence::onednn_backend> model(be, shape, /*seed*/ 1);  // same on every rank
/// transcendence::train_config tc{.batch_size = 16, .seq_len = 128, .max_steps = 2000,
///                                .checkpoint_path = "runs/model.ckpt"};  // global batch: 16 / ranks each
/// transcendence::mpi_trainer<transcendence::onednn_backend> t(
///     model, tc, transcendence::mpi_gradient_reducer<transcendence::onednn_backend>(mpi));
/// if (std::filesystem::exists(tc.checkpoint_path)) t.resume(tc.checkpoint_path);  // every rank reads it
/// auto result = t.run(train_corpus, &validation_corpus);  // rank 0 writes the checkpoints
/// @endcode
template <backend B>
class mpi_gradient_reducer {
 public:
  /// @brief A policy over a communicator (MPI must be initialised, e.g. by an @ref mpi_session).
  /// @param comm the communicator whose ranks train together; it must outlive the policy.
  /// @param options bucket size and staging.
  /// @throws config_error when MPI is not initialised or the options are invalid.
  explicit mpi_gradient_reducer(MPI_Comm comm = MPI_COMM_WORLD, mpi_reducer_options options = {})
      : m_comm(comm), m_options(options) {
    m_options.validate();
    int initialized = 0;
    detail::mpi_check(MPI_Initialized(&initialized), "MPI_Initialized");
    if (!initialized) throw config_error("mpi_gradient_reducer: MPI is not initialised (create an mpi_session first)");
    detail::mpi_check(MPI_Comm_rank(m_comm, &m_rank), "MPI_Comm_rank");
    detail::mpi_check(MPI_Comm_size(m_comm, &m_ranks), "MPI_Comm_size");
  }

  /// @brief A policy over all ranks of a session.
  /// @param session the session.
  /// @param options bucket size and staging.
  explicit mpi_gradient_reducer(const mpi_session& session, mpi_reducer_options options = {})
      : mpi_gradient_reducer(session.communicator(), options) {}

  /// @brief This process's rank in the communicator.
  /// @return the rank.
  [[nodiscard]] int rank() const noexcept { return m_rank; }
  /// @brief Number of ranks in the communicator.
  /// @return the count.
  [[nodiscard]] int ranks() const noexcept { return m_ranks; }
  /// @brief Whether gradients go through the staging buffers rather than being reduced in place.
  /// @return true for device backends or with `stage_through_host`.
  [[nodiscard]] bool staged() const noexcept { return m_options.stage_through_host || !backend_memory_on_host<B>; }
  /// @brief Floats per `MPI_Allreduce` of the gradients (known after @ref prepare).
  /// @return the bucket length.
  [[nodiscard]] std::int64_t bucket_floats() const noexcept { return m_bucket; }

  /// @brief Sizes the buckets for a model and allocates the staging buffers, once (the trainer
  /// calls it from its constructor).
  /// @param model the model whose gradients will be reduced.
  void prepare(gpt_model<B>& model) {
    const auto per_bucket = static_cast<std::int64_t>(m_options.bucket_bytes / sizeof(float));
    m_parameters = model.parameter_count();
    m_bucket = std::max<std::int64_t>(1, std::min(per_bucket, m_parameters));
    if (!staged()) return;
    auto& b = model.backend();
    const auto n = static_cast<std::size_t>(m_bucket);
    m_device = b.allocate(n);
    m_row = b.allocate_index(1);  // zero-filled: one index, 0
    m_host.assign(n, 0.0F);
  }

  /// @brief Replaces every rank's gradients by their sum over the ranks (collective).
  /// @param model the model given to @ref prepare.
  /// @throws config_error when @ref prepare was not called for a model of this size.
  void reduce_gradients(gpt_model<B>& model) {
    if (model.parameter_count() != m_parameters || m_bucket == 0)
      throw config_error("mpi_gradient_reducer: prepare() was not called for this model");
    if (m_ranks == 1) return;
    float* g = model.gradients();
    if (!staged()) {
      for (std::int64_t at = 0; at < m_parameters; at += m_bucket) {
        const auto count = static_cast<int>(std::min(m_bucket, m_parameters - at));
        detail::mpi_check(MPI_Allreduce(MPI_IN_PLACE, g + at, count, MPI_FLOAT, MPI_SUM, m_comm), "MPI_Allreduce");
      }
      return;
    }
    auto& b = model.backend();
    float* stage = b.data(m_device);
    const token_id* row = b.data(m_row);
    for (std::int64_t at = 0; at < m_parameters; at += m_bucket) {
      const std::int64_t count = std::min(m_bucket, m_parameters - at);
      // A one-row gather (row 0 of a table `count` wide) is the backend's device-to-device copy.
      b.embedding_forward(row, g + at, stage, 1, count);
      b.download(m_device, m_host);  // whole buffers only: a short last bucket carries stale floats
      detail::mpi_check(MPI_Allreduce(MPI_IN_PLACE, m_host.data(), static_cast<int>(count), MPI_FLOAT, MPI_SUM, m_comm),
                        "MPI_Allreduce");
      b.upload(m_device, m_host);
      b.embedding_forward(row, stage, g + at, 1, count);
    }
  }

  /// @brief The sum of a value over the ranks (collective).
  /// @param value this rank's value.
  /// @return the sum, the same on every rank.
  [[nodiscard]] double sum(double value) { return mpi_sum(value, m_comm); }
  /// @brief Whether a flag is set on any rank (collective).
  /// @param flag this rank's flag.
  /// @return the answer, the same on every rank.
  [[nodiscard]] bool any(bool flag) { return mpi_any(flag, m_comm); }

 private:
  MPI_Comm m_comm;
  mpi_reducer_options m_options;
  int m_rank = 0;
  int m_ranks = 1;
  std::int64_t m_parameters = 0;
  std::int64_t m_bucket = 0;
  typename B::buffer_type m_device;      // staging bucket on the backend
  typename B::index_buffer_type m_row;   // {0}: the gather index of the device copies
  std::vector<float> m_host;             // staging bucket on the host
};

/// @brief A `trainer` whose ranks are the processes of an MPI job.
/// @tparam B the backend.
template <backend B>
using mpi_trainer = trainer<B, mpi_gradient_reducer<B>>;

}  // namespace transcendence

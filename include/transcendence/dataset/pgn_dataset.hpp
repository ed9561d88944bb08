/// @file
/// @brief Building token shards from PGN (`.pgn`, `.pgn.zst`) with the reference's rating-cap filter.
#pragma once

#include <charconv>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "transcendence/core/error.hpp"
#include "transcendence/core/progress.hpp"
#include "transcendence/game/chess/pgn_scan.hpp"
#include "transcendence/dataset/token_shard.hpp"
#include "transcendence/game/chess/attacks.hpp"
#include "transcendence/game/chess/bitboard.hpp"
#include "transcendence/game/chess/domain.hpp"
#include "transcendence/game/chess/fen.hpp"
#include "transcendence/game/chess/san.hpp"
#include "transcendence/tokenizer/chess_move.hpp"
#include "transcendence/tokenizer/concepts.hpp"
#include "transcendence/tokenizer/pgn_char.hpp"

namespace transcendence {

/// @brief Which games a dataset keeps, as the reference's Lichess filter does.
struct rating_filter {
  /// Keep a game only if **both** players are rated at most this (0: no cap).
  int rating_cap = 0;
  /// Drop games without a numeric `WhiteElo`/`BlackElo` (Lichess writes `?` for unrated players)
  /// and games whose `Event` says they were casual (unrated).
  bool drop_unrated = true;
  /// Drop games without a decisive or drawn result (`*`) and Lichess games whose `Termination` is
  /// `Abandoned`, `Unterminated` or `Rules infraction`.
  bool drop_unfinished = true;
};

/// @brief What the filter decided about one game.
enum class filter_verdict {
  keep,        ///< The game enters the dataset.
  unrated,     ///< A player has no rating, or the game was casual.
  over_cap,    ///< A player is rated above the cap.
  unfinished,  ///< No result, or the game did not finish normally.
};

/// @brief A player's rating from a tag value.
/// @param value the raw tag value (`"1234"`, `"?"`, empty).
/// @return the rating, empty when the value is not a plain integer.
inline std::optional<int> parse_rating(std::string_view value) noexcept {
  int r = 0;
  const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), r);
  if (ec != std::errc() || ptr != value.data() + value.size() || value.empty()) return std::nullopt;
  return r;
}

/// @brief Applies a `rating_filter` to a scanned game.
/// @param game the game's tags (and movetext result marker).
/// @param filter the filter.
/// @return the verdict.
inline filter_verdict classify(const pgn_game_view& game, const rating_filter& filter) noexcept {
  if (filter.drop_unfinished) {
    const std::string_view result = game.tag("Result");
    const std::string_view r = result.empty() ? game.termination : result;
    if (r != "1-0" && r != "0-1" && r != "1/2-1/2") return filter_verdict::unfinished;
    const std::string_view term = game.tag("Termination");
    if (term == "Abandoned" || term == "Unterminated" || term == "Rules infraction") return filter_verdict::unfinished;
  }
  const auto white = parse_rating(game.tag("WhiteElo"));
  const auto black = parse_rating(game.tag("BlackElo"));
  if (filter.drop_unrated) {
    if (!white || !black) return filter_verdict::unrated;
    const std::string_view event = game.tag("Event");
    if (event.find("Casual") != std::string_view::npos || event.find("Unrated") != std::string_view::npos)
      return filter_verdict::unrated;
  }
  if (filter.rating_cap > 0) {
    if (!white || !black) return filter_verdict::unrated;  // a cap needs both ratings
    if (*white > filter.rating_cap || *black > filter.rating_cap) return filter_verdict::over_cap;
  }
  return filter_verdict::keep;
}

/// @brief Replays a scanned game's SAN moves into a `move_game`.
/// @param san the moves.
/// @param game overwritten with the start position (standard, or the `FEN` tag's) and the moves.
/// @param fen the game's `FEN` tag value (empty for the standard start).
/// @throws parse_error on an illegal or unreadable move (or FEN).
inline void replay_san(std::span<const std::string_view> san, move_game& game, std::string_view fen = {}) {
  game.start = fen.empty() ? position::start() : parse_fen(fen);
  game.moves.clear();
  position pos = game.start;
  for (std::string_view s : san) {
    const move m = parse_san(pos, s);
    game.moves.push_back(m);
    pos.play(m);
  }
}

/// @brief Counts of one ingestion run.
struct ingest_stats {
  std::uint64_t games_read = 0;          ///< Games scanned.
  std::uint64_t games_kept = 0;          ///< Games written to a shard.
  std::uint64_t dropped_unrated = 0;     ///< Dropped: a player unrated or a casual game.
  std::uint64_t dropped_over_cap = 0;    ///< Dropped: a player above the rating cap.
  std::uint64_t dropped_unfinished = 0;  ///< Dropped: no result or abnormal termination.
  std::uint64_t dropped_invalid = 0;     ///< Dropped: the tokenizer rejected the game (illegal move, bad symbol).
  std::uint64_t tokens = 0;              ///< Tokens written.
  std::uint64_t bytes = 0;               ///< Input bytes consumed (compressed bytes for `.zst`).
  double seconds = 0.0;                  ///< Wall time.

  /// @brief Scanning and tokenising throughput.
  /// @return games read per second.
  [[nodiscard]] double games_per_second() const noexcept {
    return seconds > 0 ? static_cast<double>(games_read) / seconds : 0.0;
  }
};

/// @brief Options of `ingest_pgn`.
struct ingest_options {
  std::uint64_t max_games = 0;  ///< Stop after this many kept games (0: all).
  bool progress = false;        ///< Show a progress bar.
};

namespace detail {

// The legal move a parsed SAN names, found from the candidate origins alone (no full move
// generation); a null move when the shortcut does not apply or finds no unique legal move.
inline move san_shortcut(const position& pos, piece_type t, int file, int rank, square to, piece_type promo) {
  const color us = pos.side_to_move();
  const bitboard occ = pos.occupied();
  const bitboard target = square_bb(to);
  if (pos.pieces(us) & target) return move{};
  bitboard from_set = 0;
  switch (t) {
    case piece_type::pawn: {
      const int forward = us == color::white ? 8 : -8;
      if (file != file_of(to)) {  // a capture
        from_set = pawn_attacks(~us, to) & pos.pieces(us, piece_type::pawn) & bb::file(file);
        if (!(pos.pieces(~us) & target) && to != pos.en_passant()) return move{};
      } else {  // a push, one or two squares
        if (occ & target) return move{};
        const int one = static_cast<int>(to) - forward;
        if (one < 0 || one > 63) return move{};
        if (pos.piece_on(static_cast<square>(one)) == make_piece(us, piece_type::pawn)) {
          from_set = square_bb(static_cast<square>(one));
        } else if (pos.piece_on(static_cast<square>(one)) == piece::none &&
                   rank_of(to) == (us == color::white ? 3 : 4)) {
          const auto two = static_cast<square>(one - forward);
          if (pos.piece_on(two) == make_piece(us, piece_type::pawn)) from_set = square_bb(two);
        }
      }
      break;
    }
    case piece_type::knight: from_set = knight_attacks(to) & pos.pieces(us, t); break;
    case piece_type::bishop: from_set = bishop_attacks(to, occ) & pos.pieces(us, t); break;
    case piece_type::rook: from_set = rook_attacks(to, occ) & pos.pieces(us, t); break;
    case piece_type::queen: from_set = queen_attacks(to, occ) & pos.pieces(us, t); break;
    case piece_type::king: from_set = king_attacks(to) & pos.pieces(us, t); break;
    default: return move{};
  }
  if (file >= 0) from_set &= bb::file(file);
  if (rank >= 0) from_set &= bb::rank(rank);
  const bool last_rank = rank_of(to) == (us == color::white ? 7 : 0);
  if (t == piece_type::pawn && last_rank != (promo != piece_type::none)) return move{};
  if (t != piece_type::pawn && promo != piece_type::none) return move{};
  move found;
  int matches = 0;
  while (from_set) {
    const square from = pop_lsb(from_set);
    move m(from, to);
    if (t == piece_type::pawn && last_rank) m = move(from, to, move_kind::promotion, promo);
    else if (t == piece_type::pawn && to == pos.en_passant() && file_of(from) != file_of(to)) m = move(from, to, move_kind::en_passant);
    const position next = pos.after(m);
    if (next.attackers(next.king_square(us), ~us, next.occupied())) continue;  // leaves the king in check
    found = m;
    ++matches;
  }
  return matches == 1 ? found : move{};
}

// SAN to move for the common, well-formed case without generating every legal move; anything
// unusual (or any error) goes to parse_san, which accepts the variants and explains failures.
inline move fast_san(const position& pos, std::string_view text, move_list& legal) {
  std::string_view s = text;
  while (!s.empty() && (s.back() == '+' || s.back() == '#' || s.back() == '!' || s.back() == '?')) s.remove_suffix(1);
  if (s == "O-O" || s == "O-O-O") {
    generate_legal_moves(pos, legal);
    const bool king_side = s.size() == 3;
    for (const move m : legal)
      if (m.kind() == move_kind::castling && (m.to() > m.from()) == king_side) return m;
    return parse_san(pos, text);
  }
  piece_type promo = piece_type::none;
  if (s.size() >= 4 && s[s.size() - 2] == '=') {
    switch (s.back()) {
      case 'Q': promo = piece_type::queen; break;
      case 'R': promo = piece_type::rook; break;
      case 'B': promo = piece_type::bishop; break;
      case 'N': promo = piece_type::knight; break;
      default: return parse_san(pos, text);
    }
    s.remove_suffix(2);
  }
  if (s.size() < 2) return parse_san(pos, text);
  const char tf = s[s.size() - 2], tr = s[s.size() - 1];
  if (tf < 'a' || tf > 'h' || tr < '1' || tr > '8') return parse_san(pos, text);
  const square to = make_square(tf - 'a', tr - '1');
  s.remove_suffix(2);
  piece_type t = piece_type::pawn;
  if (!s.empty()) {
    switch (s.front()) {
      case 'N': t = piece_type::knight; break;
      case 'B': t = piece_type::bishop; break;
      case 'R': t = piece_type::rook; break;
      case 'Q': t = piece_type::queen; break;
      case 'K': t = piece_type::king; break;
      default: break;
    }
    if (t != piece_type::pawn) s.remove_prefix(1);
  }
  if (!s.empty() && s.back() == 'x') s.remove_suffix(1);
  int file = -1, rank = -1;
  if (!s.empty() && s.front() >= 'a' && s.front() <= 'h') {
    file = s.front() - 'a';
    s.remove_prefix(1);
  }
  if (!s.empty() && s.front() >= '1' && s.front() <= '8') {
    rank = s.front() - '1';
    s.remove_prefix(1);
  }
  if (!s.empty()) return parse_san(pos, text);
  if (t == piece_type::pawn && file < 0) file = tf - 'a';  // a pawn move without a file is a push
  const move m = san_shortcut(pos, t, file, rank, to, promo);
  return m.is_null() ? parse_san(pos, text) : m;
}

// Turns one scanned game into tokens (and features), reusing its buffers between games.
template <tokenizer T>
struct pgn_game_encoder {
  const T& tok;
  std::vector<token_id> tokens;
  std::vector<feature_id> ids;
  std::vector<std::size_t> ends;
  std::string text;
  move_game game;
  move_list legal;

  // Returns false when the game cannot be represented (it is then skipped).
  bool encode(const pgn_game_view& g) {
    tokens.clear();
    ids.clear();
    ends.clear();
    try {
      if constexpr (std::same_as<typename T::input_type, std::string>) {
        text.clear();
        format_transcript(std::span<const std::string_view>(g.san), text);
        tok.encode(text, tokens);
      } else if constexpr (std::same_as<T, move_tokenizer> || std::same_as<T, board_move_tokenizer>) {
        // One pass: SAN replay already proves legality, so tokens and features come straight from
        // the replayed moves (the generic path below would generate the legal moves twice).
        const std::string_view fen = g.tag("FEN");
        position pos = fen.empty() ? position::start() : parse_fen(fen);
        if (!(pos == tok.start())) return false;
        tokens.push_back(move_tokenizer::bos_token);
        if constexpr (featured_tokenizer<T>) {
          board_features::append(pos, ids);
          ends.push_back(ids.size());
        }
        for (std::string_view s : g.san) {
          const move m = fast_san(pos, s, legal);
          tokens.push_back(move_token(m));
          pos.play(m);
          if constexpr (featured_tokenizer<T>) {
            board_features::append(pos, ids);
            ends.push_back(ids.size());
          }
        }
      } else {
        static_assert(std::same_as<typename T::input_type, move_game>,
                      "ingest_pgn: the tokenizer's input_type must be std::string (transcripts) or move_game");
        replay_san(g.san, game, g.tag("FEN"));
        tok.encode(game, tokens);
        if constexpr (featured_tokenizer<T>) tok.encode_features(game, ids, ends);
      }
    } catch (const error&) {
      return false;
    }
    return true;
  }
};

}  // namespace detail

/// @brief Scans PGN files, filters games and writes their tokens into a train/validation split.
///
/// Works for every tokenizer whose input is a transcript (`std::string`, e.g. the
/// `pgn_char_tokenizer`, for which the SAN moves are rewritten as `;1.e4 e5 2.Nf3`) or a
/// `move_game` (the `move_tokenizer` and the `board_move_tokenizer`, for which the SAN is
/// replayed, which also checks legality). Games a tokenizer rejects are counted in `ingest_stats::dropped_invalid`.
///
/// @code
/// transcendence::pgn_char_tokenizer tok;
/// transcendence::shard_split_writer out(tok.name(), tok.vocab_size(), 0, 0.05, 42);
/// std::vector<std::filesystem::path> files = {"lichess_2023-01.pgn.zst"};
/// auto stats = transcendence::ingest_pgn(files, tok, {.rating_cap = 1000}, out);
/// out.write("data/cap1000");
/// @endcode
/// @tparam T the tokenizer.
/// @param files the `.pgn` / `.pgn.zst` inputs, read in order.
/// @param tok the tokenizer.
/// @param filter which games to keep.
/// @param out receives the kept games (its feature vocabulary must match the tokenizer's).
/// @param options limits and progress.
/// @return the counts and the throughput.
/// @throws io_error, parse_error (malformed PGN structure) or format_error (corrupt zstd).
template <tokenizer T>
ingest_stats ingest_pgn(std::span<const std::filesystem::path> files, const T& tok, const rating_filter& filter,
                        shard_split_writer& out, const ingest_options& options = {}) {
  ingest_stats stats;
  const auto t0 = std::chrono::steady_clock::now();
  detail::pgn_game_encoder<T> enc{tok, {}, {}, {}, {}, {}, {}};
  pgn_game_view g;
  progress_bar bar("ingest", options.max_games, "games", options.progress);
  for (const auto& file : files) {
    pgn_scanner scan(file);
    while ((options.max_games == 0 || stats.games_kept < options.max_games) && scan.next(g)) {
      ++stats.games_read;
      switch (classify(g, filter)) {
        case filter_verdict::unrated: ++stats.dropped_unrated; continue;
        case filter_verdict::over_cap: ++stats.dropped_over_cap; continue;
        case filter_verdict::unfinished: ++stats.dropped_unfinished; continue;
        case filter_verdict::keep: break;
      }
      if (!enc.encode(g)) {
        ++stats.dropped_invalid;
        continue;
      }
      if constexpr (featured_tokenizer<T>) out.add_document(enc.tokens, enc.ids, enc.ends);
      else out.add_document(enc.tokens);
      ++stats.games_kept;
      stats.tokens += enc.tokens.size();
      if (options.progress && (stats.games_kept & 1023) == 0) bar.advance(1024);
    }
    stats.bytes += scan.bytes_consumed();
  }
  bar.finish();
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return stats;
}

/// @brief `ingest_pgn` into `train.tshard` / `val.tshard` of a directory.
/// @tparam T the tokenizer.
/// @param files the `.pgn` / `.pgn.zst` inputs.
/// @param tok the tokenizer.
/// @param filter which games to keep.
/// @param directory where the two shards are written.
/// @param validation_fraction share of games held out.
/// @param seed the split's seed.
/// @param options limits and progress.
/// @return the counts and the throughput (the time includes writing the shards).
template <tokenizer T>
ingest_stats build_pgn_dataset(std::span<const std::filesystem::path> files, const T& tok, const rating_filter& filter,
                               const std::filesystem::path& directory, double validation_fraction, std::uint64_t seed,
                               const ingest_options& options = {}) {
  std::size_t feature_vocab = 0;
  if constexpr (featured_tokenizer<T>) feature_vocab = tok.feature_vocab_size();
  shard_split_writer out(tok.name(), tok.vocab_size(), feature_vocab, validation_fraction, seed);
  const auto t0 = std::chrono::steady_clock::now();
  ingest_stats stats = ingest_pgn(files, tok, filter, out, options);
  out.write(directory);
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return stats;
}

/// @brief What `ingest_capped_games` kept and dropped.
struct capped_ingest {
  std::size_t kept = 0;      ///< Games written.
  std::size_t filtered = 0;  ///< Games dropped by the rating filter (over the cap, unrated, unfinished).
  std::size_t invalid = 0;   ///< Games whose moves do not replay, or that do not start from the standard position.
  std::size_t tokens = 0;    ///< Tokens written.
  std::vector<move_game> sample;  ///< The first kept games (for diversity and analysis), at most the requested count.
};

/// @brief Streams Lichess PGN files (`.pgn` or `.pgn.zst`) into token shards for the generic
/// experiment: games with both players rated at most @p cap (the paper's filter), replayed and
/// written with a chess `game_tokenizer` (start tokens, then each move's tokens), split into
/// `train.tshard` and `val.tshard` under @p directory.
/// @tparam T a tokenizer for `chess_domain`.
/// @param files the PGN files.
/// @param cap the rating cap (positive).
/// @param tok the tokenizer (its name is written into the shards).
/// @param directory the shard folder (empty: nothing is written, the games are only counted and sampled).
/// @param seed the train/validation split's seed.
/// @param keep_sample how many kept games to return in `capped_ingest::sample`.
/// @return what was kept and dropped.
/// @throws config_error when no game passes, naming how many each filter dropped; parse_error,
/// io_error from the scanner.
/// @code
/// auto st = transcendence::ingest_capped_games(files, 1000, transcendence::board_move_tokenizer(), "out/shards", 1);
/// @endcode
template <game_tokenizer<chess_domain> T>
capped_ingest ingest_capped_games(std::span<const std::filesystem::path> files, int cap, const T& tok,
                                  const std::filesystem::path& directory, std::uint64_t seed, std::size_t keep_sample = 20000) {
  if (cap <= 0) throw config_error("ingest_capped_games: the cap must be positive, got " + std::to_string(cap));
  const chess_domain domain;
  shard_split_writer writer(tok.name(), tok.vocab_size(), 0, 0.05, seed);
  capped_ingest out;
  pgn_game_view g;
  move_game game;
  std::vector<token_id> doc;
  for (const std::filesystem::path& f : files)
    for (pgn_scanner scan(f); scan.next(g);) {
      if (classify(g, {cap, true, true}) != filter_verdict::keep) {
        ++out.filtered;
        continue;
      }
      try {
        replay_san(g.san, game, g.tag("FEN"));
      } catch (const error&) {
        ++out.invalid;
        continue;
      }
      if (!(game.start == position::start())) {
        ++out.invalid;
        continue;
      }
      chess_state s = domain.initial_state();
      doc.clear();
      tok.encode_start(domain, s, doc);
      for (move m : game.moves) {
        append_action_tokens<chess_domain>(tok, domain, s, m, doc);
        domain.apply_in_place(s, m);
      }
      writer.add_document(doc);
      out.tokens += doc.size();
      if (++out.kept <= keep_sample) out.sample.push_back(game);
    }
  if (out.kept == 0)
    throw config_error("no game of the PGN file(s) passed the filter (" + std::to_string(out.filtered) +
                       " over the cap " + std::to_string(cap) + ", unrated or unfinished; " + std::to_string(out.invalid) +
                       " not replayable from the standard start)");
  if (!directory.empty()) writer.write(directory);
  return out;
}

}  // namespace transcendence

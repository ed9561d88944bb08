// Compiled by CTest: as is it must compile; with -DBREAK_<member> it must fail naming the member.
#include <transcendence/rating/concepts.hpp>

#include <string>
#include <string_view>

struct my_ratings {
#ifndef BREAK_add_player
  transcendence::player_id add_player(std::string_view) { return 0; }
#endif
#ifndef BREAK_add_anchor
  transcendence::player_id add_anchor(std::string_view, double) { return 0; }
#endif
#ifndef BREAK_record
  void record(const transcendence::game_result&) {}
#endif
#ifndef BREAK_update
  void update() {}
#endif
#ifndef BREAK_rating
  transcendence::rating_estimate rating(transcendence::player_id) const { return {}; }
#endif
  std::size_t player_count() const { return 1; }
  std::string name(transcendence::player_id) const { return "p"; }
};

static_assert(transcendence::rating_system<my_ratings>,
              "my_ratings does not model transcendence::rating_system (see docs/contracts/rating_system.md)");

// Compiled by CTest: as is it must compile; with -DBREAK_<member> it must fail naming the member.
#include <transcendence/tokenizer/concepts.hpp>

#include <span>
#include <string>
#include <string_view>
#include <vector>

struct my_tokenizer {
  using input_type = std::string;
#ifndef BREAK_name
  std::string_view name() const { return "mine"; }
#endif
#ifndef BREAK_vocab_size
  std::size_t vocab_size() const { return 2; }
#endif
#ifndef BREAK_specials
  transcendence::special_tokens specials() const { return {}; }
#endif
#ifndef BREAK_encode
  void encode(const input_type& s, std::vector<transcendence::token_id>& out) const {
    for (char c : s) out.push_back(c == '1');
  }
#endif
#ifndef BREAK_decode
  input_type decode(std::span<const transcendence::token_id> t) const {
    std::string s;
    for (auto x : t) s.push_back(x ? '1' : '0');
    return s;
  }
#endif
};

static_assert(transcendence::tokenizer<my_tokenizer>,
              "my_tokenizer does not model transcendence::tokenizer (see docs/contracts/tokenizer.md)");

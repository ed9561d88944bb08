// libFuzzer harness of the binary and JSON files the pipeline reads back, and of the engine's
// answers: the first byte picks the reader, the rest is the file.
//   0: a GPT checkpoint (model/checkpoint.hpp)      1: a token shard (dataset/token_shard.hpp)
//   2: a stage manifest (experiment/stages.hpp)     3: UCI `info` lines (arena/uci_engine.hpp)
// Each must either accept the bytes or throw transcendence::error (format_error, io_error, ...):
// anything else (another exception, a crash, a hang, undefined behaviour) is a finding. An accepted
// checkpoint must survive a write/read round trip unchanged.
// `fuzz_files -write_seeds=DIR` writes one valid file of each kind (the seed corpus) and exits.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

#include <unistd.h>

#include "transcendence/arena/uci_engine.hpp"
#include "transcendence/core/io.hpp"
#include "transcendence/dataset/token_shard.hpp"
#include "transcendence/experiment/stages.hpp"
#include "transcendence/model/checkpoint.hpp"

namespace fs = std::filesystem;
using namespace transcendence;

namespace {

const fs::path& scratch() {
  static const fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("transcendence_fuzz_files_" + std::to_string(::getpid()));
    fs::create_directories(d / "stages");
    return d;
  }();
  return dir;
}

std::string with_selector(char which, const std::string& bytes) { return std::string(1, which) + bytes; }

void write_seeds(const fs::path& dir) {
  fs::create_directories(dir);
  gpt_checkpoint ck;
  ck.config.vocab_size = 5, ck.config.context = 4, ck.config.n_layer = 1, ck.config.n_head = 1, ck.config.d_model = 4;
  ck.parameters.assign(static_cast<std::size_t>(parameter_count(ck.config)), 0.25F);
  ck.metadata = R"({"seed": 1})";
  write_file_atomic(dir / "checkpoint", with_selector(0, serialize_checkpoint(ck)));
  token_shard_writer w("fuzz", 7);
  const token_id doc[] = {1, 2, 3, 6};
  w.add_document(doc);
  w.write(scratch() / "seed.tshard");
  write_file_atomic(dir / "shard", with_selector(1, read_file(scratch() / "seed.tshard")));
  write_file_atomic(dir / "manifest",
                    with_selector(2, R"({"stage": "data", "fingerprint": "00000000", "seconds": 1.5, "outputs": )"
                                     R"([{"path": "data.txt", "bytes": 9, "crc32": 3421780262}], "provisional": "x"})"));
  write_file_atomic(dir / "uci", with_selector(3, "info depth 12 seldepth 18 multipv 2 score cp -31 wdl 120 700 180 "
                                                  "nodes 51234 nps 1000 pv e2e4 e7e5 g1f3\ninfo string hello\n"
                                                  "info depth 3 score mate -2 lowerbound pv a2a3\n"));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  std::atexit([] {
    std::error_code ec;
    fs::remove_all(scratch(), ec);
  });
  for (int i = 1; i < *argc; ++i)
    if (std::string_view a = (*argv)[i]; a.starts_with("-write_seeds=")) {
      write_seeds(std::string(a.substr(13)));
      std::exit(0);
    }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    switch (data[0] % 4) {
      case 0: {
        const gpt_checkpoint ck = parse_checkpoint(bytes, "fuzz");
        const gpt_checkpoint again = parse_checkpoint(serialize_checkpoint(ck), "round trip");
        if (again.parameters.size() != ck.parameters.size() || again.metadata != ck.metadata ||
            again.state.step != ck.state.step)
          std::abort();
        break;
      }
      case 1: {
        const fs::path p = scratch() / "input.tshard";
        write_file_atomic(p, std::string(bytes));
        const token_shard s = token_shard::open(p);
        std::size_t total = 0;
        for (std::size_t d = 0; d < s.document_count(); ++d) total += s.document(d).size();
        if (total > size * 8) std::abort();  // documents must lie inside the file
        break;
      }
      case 2: {
        write_file_atomic(scratch() / "stages" / "data.json", std::string(bytes));
        write_file_atomic(scratch() / "data.txt", "123456789");
        const stage_runner r(scratch(), {"data"}, {nullptr});
        std::string why;
        (void)r.verified("data", &why);
        std::FILE* null = std::fopen("/dev/null", "w");
        (void)r.check(null);
        std::fclose(null);
        break;
      }
      default: {
        std::string_view rest = bytes;
        while (!rest.empty()) {
          const std::size_t nl = rest.find('\n');
          uci_line line;
          (void)uci_engine::parse_info(rest.substr(0, nl), line);
          rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
        }
        break;
      }
    }
  } catch (const transcendence::error&) {
    // a typed, named error: the expected answer to bad bytes
  }
  return 0;
}

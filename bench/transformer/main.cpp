// bench_transformer: GPT training and KV-cache decoding on the oneDNN backend against PyTorch 1.13
// running the identical nanoGPT architecture (bench/transformer/pytorch_gpt.py), in the same run.
//
// Prints per config c in {a, b}:
//   config <c> train ours_tps <x> pytorch_tps <y> ratio <x/y>
//   config <c> decode ours_tps <x> pytorch_tps <y> ratio <x/y>
// with extra lines for bf16 and achieved GFLOP/s, and as its last line `min_train_ratio <r>`.
// Every figure is the median of several repetitions after warm-up.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include <omp.h>

#include "timed_backend.hpp"
#include "transcendence/backend/onednn.hpp"
#include "transcendence/core/error.hpp"
#include "transcendence/core/random.hpp"
#include "transcendence/model/adamw.hpp"
#include "transcendence/model/gpt.hpp"
#include "transcendence/model/kv_cache.hpp"

#ifndef TRANSCENDENCE_PYTORCH_GPT_SCRIPT
#define TRANSCENDENCE_PYTORCH_GPT_SCRIPT "pytorch_gpt.py"
#endif

namespace {

using namespace transcendence;
using clock_type = std::chrono::steady_clock;

struct bench_config {
  std::string name;
  gpt_config model;
  std::int64_t batch = 0;
};

struct options {
  bool quick = false;
  bool bf16 = true;
  bool profile = false;
  bool pytorch = true;
  int train_reps = 5;
  int train_warmup = 2;
  int decode_tokens = 128;
  int decode_reps = 3;
  std::string python = "/usr/bin/python3";
  std::string script = TRANSCENDENCE_PYTORCH_GPT_SCRIPT;
  std::vector<std::string> configs = {"a", "b"};
  double peak_gflops = 447.0;
  std::uint64_t seed = 1;
};

std::string load_average() {
  std::string text = "unknown";
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    std::array<char, 64> buf{};
    if (std::fgets(buf.data(), static_cast<int>(buf.size()), f) != nullptr) {
      text = buf.data();
      text = text.substr(0, text.find(' ', text.find(' ', text.find(' ') + 1) + 1));  // 1, 5, 15 minutes
    }
    std::fclose(f);
  }
  return text;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

/// Training FLOPs per token, nanoGPT's estimate: 6N + 12·L·d·T (N without the positional table).
double train_flops_per_token(const gpt_config& c) {
  const double n = static_cast<double>(parameter_count(c) - c.context * c.d_model);
  return 6.0 * n + 12.0 * static_cast<double>(c.n_layer * c.d_model * c.context);
}

/// f32 FMA throughput of all cores right now: 12 independent chains of vector FMAs per thread
/// (enough to cover the FMA latency). On a shared machine this also shows how much of the CPU
/// this run gets.
double measure_fma_peak() {
  using vec = float __attribute__((vector_size(64)));
  constexpr int chains = 12;
  constexpr long iterations = 4'000'000;
  double best = 0.0;
  for (int rep = 0; rep < 3; ++rep) {
    int threads = 1;
    float sink = 0.0F;
    const auto start = clock_type::now();
#pragma omp parallel reduction(+ : sink)
    {
      std::array<vec, chains> acc{};
      const vec mul = vec{} + 0.999999F, add = vec{} + 1e-7F;
      for (long i = 0; i < iterations; ++i)
        for (auto& a : acc) a = a * mul + add;
      for (const auto& a : acc)
        for (int l = 0; l < 16; ++l) sink += a[l];
#pragma omp single
      threads = omp_get_num_threads();
    }
    const double seconds = seconds_since(start);
    const double flops = 2.0 * 16 * chains * static_cast<double>(iterations) * threads;
    if (sink == 42.0F) std::printf(" ");  // keeps the loop observable
    best = std::max(best, flops / seconds / 1e9);
  }
  return best;
}

struct train_result {
  double tps = 0.0;
  std::vector<double> step_seconds;
};

/// Median tokens/s of full training steps (forward, backward, clipping, AdamW) on random tokens.
template <class B>
train_result measure_train(B& backend, const bench_config& bc, const options& opt, bool profile) {
  const auto& c = bc.model;
  gpt_model<B> model(backend, c, opt.seed);
  // nanoGPT's optimizer settings; the schedule does not change the cost of a step.
  adamw_optimizer<B> adam(model, adamw_config{.lr = 3e-4F, .warmup_steps = 0, .decay_steps = 0});
  const std::int64_t n = bc.batch * c.context;
  std::vector<token_id> data(static_cast<std::size_t>(n + 1));
  rng gen(opt.seed);
  train_result result;
  for (int i = 0; i < opt.train_warmup + opt.train_reps; ++i) {
    for (auto& t : data) t = static_cast<token_id>(gen.below(static_cast<std::uint64_t>(c.vocab_size)));
    const std::span<const token_id> all(data);
    if constexpr (requires { backend.reset(); })
      if (profile && i == opt.train_warmup) backend.reset();
    const auto start = clock_type::now();
    model.zero_gradients();
    token_batch tb;
    tb.batch = bc.batch;
    tb.length = c.context;
    tb.inputs = all.first(static_cast<std::size_t>(n));
    tb.targets = all.subspan(1);
    const double loss = model.forward(tb);
    model.backward();
    adam.step();
    backend.synchronize();
    const double elapsed = seconds_since(start);
    if (!std::isfinite(loss)) throw numeric_error("bench_transformer: training loss is not finite");
    if (i >= opt.train_warmup) result.step_seconds.push_back(elapsed);
  }
  result.tps = static_cast<double>(n) / median(result.step_seconds);
  return result;
}

/// Median tokens/s of KV-cache generation, batch 1: one token per step from an empty cache,
/// greedy choice on the host logits (what a game-playing loop does).
template <class B>
double measure_decode(B& backend, const bench_config& bc, const options& opt) {
  const auto& c = bc.model;
  gpt_model<B> model(backend, c, opt.seed);
  gpt_kv_cache<B> cache(model, 1);
  std::vector<float> logits(static_cast<std::size_t>(c.vocab_size));
  const std::array<std::int64_t, 1> slot{0};
  std::vector<double> times;
  for (int i = 0; i < 1 + opt.decode_reps; ++i) {
    cache.reset();
    std::array<token_id, 1> token{0};
    const auto start = clock_type::now();
    for (int t = 0; t < opt.decode_tokens; ++t) {
      cache.step(slot, token, logits);
      token[0] = static_cast<token_id>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    }
    const double elapsed = seconds_since(start);
    if (i >= 1) times.push_back(elapsed);  // the first repetition creates the primitives
  }
  return opt.decode_tokens / median(times);
}

struct pytorch_result {
  double train_tps = std::numeric_limits<double>::quiet_NaN();
  double decode_tps = std::numeric_limits<double>::quiet_NaN();
};

/// Runs the PyTorch script with the same shapes and repetition counts; parses its JSON line.
pytorch_result run_pytorch(const bench_config& bc, const options& opt) {
  const auto& c = bc.model;
  const std::string cmd = "OPENBLAS_CORETYPE=SkylakeX '" + opt.python + "' '" + opt.script + "' --layers " +
                          std::to_string(c.n_layer) + " --heads " + std::to_string(c.n_head) + " --d " +
                          std::to_string(c.d_model) + " --ctx " + std::to_string(c.context) + " --vocab " +
                          std::to_string(c.vocab_size) + " --batch " + std::to_string(bc.batch) + " --train-reps " +
                          std::to_string(opt.train_reps) + " --train-warmup " + std::to_string(opt.train_warmup) +
                          " --decode-tokens " + std::to_string(opt.decode_tokens) + " --decode-reps " +
                          std::to_string(opt.decode_reps) + " --threads 2 --seed " + std::to_string(opt.seed);
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) throw io_error("bench_transformer: cannot start " + cmd);
  std::string out;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), static_cast<int>(buf.size()), pipe) != nullptr) out += buf.data();
  const int status = pclose(pipe);
  if (status != 0) throw io_error("bench_transformer: the PyTorch script failed (" + cmd + ")");
  const auto line_start = out.rfind('{');
  if (line_start == std::string::npos) throw format_error("bench_transformer: no JSON from the PyTorch script");
  const auto j = nlohmann::json::parse(out.substr(line_start));
  return {j.at("train_tps").get<double>(), j.at("decode_tps").get<double>()};
}

void print_profile(const bench::timed_backend<onednn_backend>& tb, int steps) {
  double total = 0.0;
  for (const auto& [name, e] : tb.totals()) total += e.seconds;
  std::printf("#   profile per step (%.6f s):\n", total / steps);
  for (const auto& [name, e] : tb.totals()) {
    std::printf("#     %-26s %10.4f ms %5.1f%% %8.1f calls", name.c_str(), 1e3 * e.seconds / steps,
                100.0 * e.seconds / total, static_cast<double>(e.calls) / steps);
    if (e.flops > 0) std::printf("  %6.1f GFLOP/s", e.flops / e.seconds / 1e9);
    std::printf("\n");
  }
}

}  // namespace

int main(int argc, char** argv) {
  options opt;
  CLI::App app{"GPT training and KV-cache decoding: oneDNN backend vs PyTorch 1.13, same run"};
  app.add_flag("--quick", opt.quick, "fewer repetitions and tokens (a smoke run, noisier)");
  app.add_flag("!--no-bf16", opt.bf16, "skip the bf16 measurements");
  app.add_flag("!--no-pytorch", opt.pytorch, "skip PyTorch (ratios become nan)");
  app.add_flag("--profile", opt.profile, "print where the time of an f32 training step goes");
  app.add_option("--train-reps", opt.train_reps, "timed training steps per measurement (median)");
  app.add_option("--decode-tokens", opt.decode_tokens, "tokens generated per decoding repetition");
  app.add_option("--decode-reps", opt.decode_reps, "decoding repetitions (median)");
  app.add_option("--configs", opt.configs, "which configs to run (a, b)");
  app.add_option("--python", opt.python, "Python interpreter with torch 1.13");
  app.add_option("--script", opt.script, "path of pytorch_gpt.py");
  app.add_option("--peak", opt.peak_gflops, "f32 peak GFLOP/s to compare against");
  app.add_option("--seed", opt.seed, "seed of weights and tokens");
  CLI11_PARSE(app, argc, argv);
  if (opt.quick) {
    opt.train_reps = 2;
    opt.train_warmup = 1;
    opt.decode_tokens = 32;
    opt.decode_reps = 1;
  }

  const std::vector<bench_config> all = {
      {"a", {.vocab_size = 32, .context = 256, .n_layer = 4, .n_head = 4, .d_model = 256}, 16},
      {"b", {.vocab_size = 32, .context = 512, .n_layer = 8, .n_head = 8, .d_model = 512}, 8},
  };
  double min_train_ratio = std::numeric_limits<double>::infinity();
  std::printf("# f32 FMA peak: nominal %.0f GFLOP/s, measured now %.0f GFLOP/s (load average %s)\n", opt.peak_gflops,
              measure_fma_peak(), load_average().c_str());
  try {
    for (const auto& bc : all) {
      if (std::find(opt.configs.begin(), opt.configs.end(), bc.name) == opt.configs.end()) continue;
      const double flops = train_flops_per_token(bc.model);
      onednn_backend f32;
      train_result ours;
      if (opt.profile) {
        bench::timed_backend<onednn_backend> timed(f32);
        ours = measure_train(timed, bc, opt, true);
        print_profile(timed, opt.train_reps);
      } else {
        ours = measure_train(f32, bc, opt, false);
      }
      double bf16_tps = std::numeric_limits<double>::quiet_NaN();
      if (opt.bf16) {
        onednn_backend bf16({.precision = onednn_precision::bf16});
        if (opt.profile) {
          bench::timed_backend<onednn_backend> timed(bf16);
          bf16_tps = measure_train(timed, bc, opt, true).tps;
          std::printf("#   (bf16 products)\n");
          print_profile(timed, opt.train_reps);
        } else {
          bf16_tps = measure_train(bf16, bc, opt, false).tps;
        }
      }
      if (opt.profile) {
        onednn_backend inner;
        bench::timed_backend<onednn_backend> timed(inner);
        measure_decode(timed, bc, opt);
        std::printf("#   (decoding, %d tokens per repetition)\n", opt.decode_tokens);
        print_profile(timed, (1 + opt.decode_reps) * opt.decode_tokens);
      }
      const double decode_tps = measure_decode(f32, bc, opt);
      double decode_bf16_tps = std::numeric_limits<double>::quiet_NaN();
      if (opt.bf16) {
        onednn_backend bf16({.precision = onednn_precision::bf16});
        decode_bf16_tps = measure_decode(bf16, bc, opt);
      }
      pytorch_result torch;
      if (opt.pytorch) torch = run_pytorch(bc, opt);
      const double train_ratio = ours.tps / torch.train_tps;
      min_train_ratio = std::min(min_train_ratio, train_ratio);
      std::printf("config %s train ours_tps %.1f pytorch_tps %.1f ratio %.3f\n", bc.name.c_str(), ours.tps,
                  torch.train_tps, train_ratio);
      std::printf("# config %s train_gflops ours_f32 %.1f ours_bf16 %.1f pytorch %.1f f32_peak %.0f (%.0f%% of peak)\n",
                  bc.name.c_str(), ours.tps * flops / 1e9, bf16_tps * flops / 1e9, torch.train_tps * flops / 1e9,
                  opt.peak_gflops, 100.0 * ours.tps * flops / 1e9 / opt.peak_gflops);
      std::printf("# config %s train_bf16 ours_tps %.1f ratio %.3f\n", bc.name.c_str(), bf16_tps,
                  bf16_tps / torch.train_tps);
      std::printf("config %s decode ours_tps %.1f pytorch_tps %.1f ratio %.3f\n", bc.name.c_str(), decode_tps,
                  torch.decode_tps, decode_tps / torch.decode_tps);
      std::printf("# config %s decode_bf16 ours_tps %.1f ratio %.3f\n", bc.name.c_str(), decode_bf16_tps,
                  decode_bf16_tps / torch.decode_tps);
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_transformer: %s\n", e.what());
    return 1;
  }
  std::printf("min_train_ratio %.3f\n", min_train_ratio);
  return 0;
}

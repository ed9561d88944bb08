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
#include <memory>
#include <string>
#include <vector>

#include <fcntl.h>
#include <omp.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>
#include <string_view>

#include "timed_backend.hpp"
#include "transcendence/core/cli.hpp"
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
constexpr double not_measured = std::numeric_limits<double>::quiet_NaN();

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
  std::int64_t bf16_min_madds = onednn_options{}.bf16_min_madds;
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

/// One full training step at a time (forward, backward, clipping, AdamW) on fresh random tokens.
template <class B>
class train_runner {
 public:
  train_runner(B& backend, const bench_config& bc, std::uint64_t seed)
      : m_backend(&backend), m_bc(bc), m_model(backend, bc.model, seed),
        // nanoGPT's optimizer settings; the schedule does not change the cost of a step.
        m_adam(m_model, adamw_config{.lr = 3e-4F, .warmup_steps = 0, .decay_steps = 0}),
        m_data(static_cast<std::size_t>(bc.batch * bc.model.context + 1)), m_gen(seed) {}

  /// @return the seconds of one step.
  double step() {
    const std::int64_t n = m_bc.batch * m_bc.model.context;
    for (auto& t : m_data) t = static_cast<token_id>(m_gen.below(static_cast<std::uint64_t>(m_bc.model.vocab_size)));
    const std::span<const token_id> all(m_data);
    token_batch tb;
    tb.batch = m_bc.batch;
    tb.length = m_bc.model.context;
    tb.inputs = all.first(static_cast<std::size_t>(n));
    tb.targets = all.subspan(1);
    const auto start = clock_type::now();
    m_model.zero_gradients();
    const double loss = m_model.forward(tb);
    m_model.backward();
    m_adam.step();
    m_backend->synchronize();
    const double elapsed = seconds_since(start);
    if (!std::isfinite(loss)) throw numeric_error("bench_transformer: training loss is not finite");
    return elapsed;
  }

  gpt_model<B>& model() { return m_model; }

 private:
  B* m_backend;
  bench_config m_bc;
  gpt_model<B> m_model;
  adamw_optimizer<B> m_adam;
  std::vector<token_id> m_data;
  rng m_gen;
};

/// KV-cache generation, batch 1: `tokens` tokens from an empty cache, one step each, greedy choice
/// on the host logits (what a game-playing loop does).
template <class B>
class decode_runner {
 public:
  /// @param model the model. @param prepared whether the cache multiplies by the backend's prepared
  /// weights (false: by the weights as stored, for the comparison).
  explicit decode_runner(gpt_model<B>& model, bool prepared = true)
      : m_cache(model, 1, 0, prepared), m_logits(static_cast<std::size_t>(model.config().vocab_size)) {}

  /// @return the seconds of one generation.
  double run(int tokens) {
    m_cache.reset();
    std::array<token_id, 1> token{0};
    const std::array<std::int64_t, 1> slot{0};
    const auto start = clock_type::now();
    for (int t = 0; t < tokens; ++t) {
      m_cache.step(slot, token, m_logits);
      token[0] = static_cast<token_id>(std::max_element(m_logits.begin(), m_logits.end()) - m_logits.begin());
    }
    return seconds_since(start);
  }

 private:
  gpt_kv_cache<B> m_cache;
  std::vector<float> m_logits;
};

/// pytorch_gpt.py --serve as a child process: one repetition per request, so that its
/// repetitions alternate with ours and both see the same load on a shared machine.
/// How the PyTorch anchor runs: what an expert user sets for it on this machine.
struct anchor_settings {
  std::string wait_policy;  ///< OMP_WAIT_POLICY for the child; empty: libgomp's default.
  /// glibc malloc never maps a block of its own and never trims the heap, so that freed tensors
  /// stay in the heap and the next step's allocations do not fault in fresh pages (about 11 µs per
  /// 4 KiB page here). Raising mmap_threshold is not enough: it stops at 32 MiB, and configuration
  /// b's attention tensors are 64 MiB (measured: 532 tokens/s with it, 1,454 with this).
  static constexpr const char* malloc_tunables = "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=17179869184";
  static constexpr const char* openblas_coretype = "SkylakeX";
  [[nodiscard]] std::string policy_name() const { return wait_policy.empty() ? "default" : wait_policy; }
};

class pytorch_server {
 public:
  pytorch_server(const bench_config& bc, const options& opt, const anchor_settings& anchor) {
    const auto& c = bc.model;
    std::vector<std::string> args = {opt.python,
                                     opt.script,
                                     "--serve",
                                     "--layers=" + std::to_string(c.n_layer),
                                     "--heads=" + std::to_string(c.n_head),
                                     "--d=" + std::to_string(c.d_model),
                                     "--ctx=" + std::to_string(c.context),
                                     "--vocab=" + std::to_string(c.vocab_size),
                                     "--batch=" + std::to_string(bc.batch),
                                     "--decode-tokens=" + std::to_string(opt.decode_tokens),
                                     "--threads=2",
                                     "--seed=" + std::to_string(opt.seed)};
    std::vector<std::string> env = {std::string("OPENBLAS_CORETYPE=") + anchor_settings::openblas_coretype,
                                    std::string("GLIBC_TUNABLES=") + anchor_settings::malloc_tunables};
    if (!anchor.wait_policy.empty()) env.push_back("OMP_WAIT_POLICY=" + anchor.wait_policy);
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string_view v(*e);
      if (!v.starts_with("OPENBLAS_CORETYPE=") && !v.starts_with("GLIBC_TUNABLES=") && !v.starts_with("OMP_WAIT_POLICY="))
        env.emplace_back(*e);
    }
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    int to_child[2], from_child[2];
    if (pipe2(to_child, O_CLOEXEC) != 0 || pipe2(from_child, O_CLOEXEC) != 0)
      throw io_error("bench_transformer: pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, to_child[0], 0);
    posix_spawn_file_actions_adddup2(&actions, from_child[1], 1);
    const int rc = posix_spawn(&m_pid, opt.python.c_str(), &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    close(to_child[0]);
    close(from_child[1]);
    m_to = fdopen(to_child[1], "w");
    m_from = fdopen(from_child[0], "r");
    if (rc != 0) throw io_error("bench_transformer: cannot start " + opt.python + " " + opt.script);
    const std::string ready = read_line();  // "ready <the BLAS library PyTorch runs on>"
    if (!ready.starts_with("ready ")) throw format_error("bench_transformer: the PyTorch script did not start");
    m_blas = ready.substr(6);
  }
  pytorch_server(const pytorch_server&) = delete;
  pytorch_server& operator=(const pytorch_server&) = delete;
  ~pytorch_server() {
    if (m_to != nullptr) {
      std::fputs("quit\n", m_to);
      std::fclose(m_to);
    }
    if (m_from != nullptr) std::fclose(m_from);
    if (m_pid > 0) waitpid(m_pid, nullptr, 0);
  }

  double train() { return request("train"); }
  double train_bf16() { return request("train_bf16"); }
  double decode() { return request("decode"); }
  double decode_bf16() { return request("decode_bf16"); }
  /// @return the BLAS library the child's PyTorch runs on.
  [[nodiscard]] const std::string& blas() const noexcept { return m_blas; }

 private:
  std::string read_line() {
    std::array<char, 256> buf{};
    if (std::fgets(buf.data(), static_cast<int>(buf.size()), m_from) == nullptr)
      throw io_error("bench_transformer: the PyTorch script stopped (is python3-torch installed?)");
    std::string line = buf.data();
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    return line;
  }
  double request(const char* what) {
    std::fprintf(m_to, "%s\n", what);
    std::fflush(m_to);
    const std::string line = read_line();
    try {
      return std::stod(line);
    } catch (const std::exception&) {
      throw format_error("bench_transformer: unexpected answer from the PyTorch script: " + line);
    }
  }

  pid_t m_pid = -1;
  std::string m_blas;
  FILE* m_to = nullptr;
  FILE* m_from = nullptr;
};

/// Profiles one config's training step and decoding op by op (separate from the timed runs).
void profile(const bench_config& bc, const options& opt);

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

void profile(const bench_config& bc, const options& opt) {
  for (const bool bf16 : {false, true}) {
    if (bf16 && !opt.bf16) break;
    const char* name = bf16 ? "bf16" : "f32";
    onednn_backend inner(bf16 ? onednn_options{.precision = onednn_precision::bf16, .bf16_min_madds = opt.bf16_min_madds}
                              : onednn_options{});
    bench::timed_backend<onednn_backend> timed(inner);
    train_runner<bench::timed_backend<onednn_backend>> train(timed, bc, opt.seed);
    for (int i = 0; i < opt.train_warmup; ++i) train.step();
    timed.reset();
    for (int i = 0; i < opt.train_reps; ++i) train.step();
    std::printf("# config %s profile of a %s training step\n", bc.name.c_str(), name);
    print_profile(timed, opt.train_reps);
    decode_runner<bench::timed_backend<onednn_backend>> decode(train.model());
    decode.run(opt.decode_tokens);
    timed.reset();
    for (int i = 0; i < opt.decode_reps; ++i) decode.run(opt.decode_tokens);
    std::printf("# config %s profile of one %s decoding step (token)\n", bc.name.c_str(), name);
    print_profile(timed, opt.decode_reps * opt.decode_tokens);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Our wait policy: libgomp reads OMP_WAIT_POLICY when the program loads, so a choice other than
  // its default is made by re-executing. Passive waiting (threads sleep at barriers) saves whole
  // time slices on a shared machine (load average 9: our step 8.6 s spinning vs 3.0 s passive) but
  // costs every parallel region a wake-up on an idle one (default-preset shape: 0-4% slower with one
  // attention call per layer, 9-17% with one per sequence; design.md section 5). So: passive when other work keeps at least half a core busy, libgomp's
  // default otherwise; the child sees TRANSCENDENCE_BENCH_POLICY and says why. (PyTorch's children
  // try both policies whatever ours is.)
  if (std::getenv("OMP_WAIT_POLICY") == nullptr && std::getenv("TRANSCENDENCE_BENCH_POLICY") == nullptr) {
    const double busy = transcendence::detail::busy_cores(omp_get_num_procs(), std::chrono::milliseconds(200));
    char why[128];
    std::snprintf(why, sizeof why, "other work busy on %.1f cores", busy);
    setenv("TRANSCENDENCE_BENCH_POLICY", why, 1);
    if (busy >= 0.5) {
      setenv("OMP_WAIT_POLICY", "passive", 1);
      execv("/proc/self/exe", argv);  // returns only on failure: then run with the default policy
    }
  }
  options opt;
  CLI::App app{"GPT training and KV-cache decoding: oneDNN backend vs PyTorch 1.13, same run"};
  app.add_flag("--quick", opt.quick, "fewer repetitions and tokens (a smoke run, noisier)");
  app.add_flag("!--no-bf16", opt.bf16, "skip the bf16 measurements");
  app.add_flag("!--no-pytorch", opt.pytorch, "skip PyTorch (ratios become nan)");
  app.add_flag("--profile", opt.profile, "print where the time of a training and a decoding step goes (f32, and bf16 unless --no-bf16)");
  app.add_option("--train-reps", opt.train_reps, "timed training steps per measurement (median)")->check(CLI::Range(1, 10000));
  app.add_option("--decode-tokens", opt.decode_tokens, "tokens generated per decoding repetition")->check(CLI::Range(1, 100000));
  app.add_option("--decode-reps", opt.decode_reps, "decoding repetitions (median)")->check(CLI::Range(1, 10000));
  app.add_option("--configs", opt.configs, "which configs to run (a, b; chess: the default preset's model shape)")
      ->check(CLI::IsMember({"a", "b", "chess"}));
  app.add_option("--python", opt.python, "Python interpreter with torch 1.13");
  app.add_option("--script", opt.script, "path of pytorch_gpt.py");
  app.add_option("--peak", opt.peak_gflops, "f32 peak GFLOP/s to compare against")->check(CLI::PositiveNumber);
  app.add_option("--seed", opt.seed, "seed of weights and tokens")->check(CLI::NonNegativeNumber);
  app.add_option("--bf16-min-madds", opt.bf16_min_madds,
                 "bf16 runs: products of fewer multiply-adds stay in f32 (0: every product in bf16)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.footer("Exit codes: 0 success, 2 a run failed (PyTorch, the backend, a file), 3 invalid configuration.");
  if (const auto rc = transcendence::parse_command_line(app, argc, argv, "bench_transformer")) return *rc;
  if (opt.quick) {
    opt.train_reps = 2;
    opt.train_warmup = 1;
    opt.decode_tokens = 32;
    opt.decode_reps = 1;
  }

  const std::vector<bench_config> all = {
      {"a", {.vocab_size = 32, .context = 256, .n_layer = 4, .n_head = 4, .d_model = 256}, 16},
      {"b", {.vocab_size = 32, .context = 512, .n_layer = 8, .n_head = 8, .d_model = 512}, 8},
      // chess_transcendence --preset default's transformer (its move head and board features left out).
      {"chess", {.vocab_size = 32, .context = 192, .n_layer = 4, .n_head = 6, .d_model = 192}, 16},
  };
  double min_train_ratio = std::numeric_limits<double>::infinity();
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  std::printf("# f32 FMA peak: nominal %.0f GFLOP/s, measured now %.0f GFLOP/s (load average %s); "
              "OMP_WAIT_POLICY=%s for ours (%s; PyTorch: both policies tried, the faster kept)\n",
              opt.peak_gflops, measure_fma_peak(), load_average().c_str(), policy != nullptr ? policy : "(default)",
              std::getenv("TRANSCENDENCE_BENCH_POLICY") != nullptr ? std::getenv("TRANSCENDENCE_BENCH_POLICY")
                                                                   : "set by the user");
  try {
    for (const auto& bc : all) {
      if (std::find(opt.configs.begin(), opt.configs.end(), bc.name) == opt.configs.end()) continue;
      if (opt.profile) profile(bc, opt);
      const double flops = train_flops_per_token(bc.model);
      const double tokens = static_cast<double>(bc.batch * bc.model.context);
      onednn_backend f32_backend;
      onednn_backend bf16_backend({.precision = onednn_precision::bf16, .bf16_min_madds = opt.bf16_min_madds});
      train_runner<onednn_backend> f32(f32_backend, bc, opt.seed);
      // The same f32 training with the backend's fused attention hidden (composed from two grouped
      // products and a masked softmax, as on a backend without it), for a same-run comparison.
      onednn_backend composed_inner;
      bench::timed_backend<onednn_backend, false> composed_backend(composed_inner);
      train_runner<bench::timed_backend<onednn_backend, false>> f32_composed(composed_backend, bc, opt.seed);
      std::optional<train_runner<onednn_backend>> bf16;
      if (opt.bf16) bf16.emplace(bf16_backend, bc, opt.seed);
      // PyTorch at its best known settings: one child per OpenMP wait policy (libgomp's default
      // spins, passive sleeps; which is faster depends on the load), each measurement taking the
      // faster child's median. Repetitions alternate between ours and PyTorch's children, so that
      // on a shared machine all see the same load.
      std::vector<anchor_settings> anchors;
      std::vector<std::unique_ptr<pytorch_server>> torch;
      if (opt.pytorch)
        for (const char* policy : {"", "passive"}) {
          anchors.push_back({policy});
          torch.push_back(std::make_unique<pytorch_server>(bc, opt, anchors.back()));
        }
      std::vector<double> t_f32, t_bf16, t_composed;
      std::vector<std::vector<double>> t_torch(torch.size()), t_torch_bf16(torch.size());
      for (int i = 0; i < opt.train_warmup + opt.train_reps; ++i) {
        const bool timed = i >= opt.train_warmup;
        const double a = f32.step();
        const double b = bf16 ? bf16->step() : not_measured;
        const double e = f32_composed.step();
        if (timed) t_f32.push_back(a), t_bf16.push_back(b), t_composed.push_back(e);
        for (std::size_t k = 0; k < torch.size(); ++k) {
          const double c = torch[k]->train();
          const double d = bf16 ? torch[k]->train_bf16() : not_measured;
          if (timed) t_torch[k].push_back(c), t_torch_bf16[k].push_back(d);
        }
      }
      decode_runner<onednn_backend> f32_decode(f32.model()), stored_decode(f32.model(), false);
      std::optional<decode_runner<onednn_backend>> bf16_decode;
      if (bf16) bf16_decode.emplace(bf16->model());
      // The same weights prepared in oneDNN's blocked layout and multiplied by its matmul (the
      // path of CPUs without AVX-512), to show what the panel kernels gain.
      onednn_backend f32_blocked_backend({.panel_kernels = false});
      onednn_backend bf16_blocked_backend(
          {.precision = onednn_precision::bf16, .bf16_min_madds = opt.bf16_min_madds, .panel_kernels = false});
      const auto weights_of = [](gpt_model<onednn_backend>& m) {
        return std::span<const float>(m.parameters(), static_cast<std::size_t>(m.parameter_count()));
      };
      gpt_model<onednn_backend> f32_blocked_model(f32_blocked_backend, bc.model, weights_of(f32.model()));
      decode_runner<onednn_backend> f32_blocked_decode(f32_blocked_model);
      std::optional<gpt_model<onednn_backend>> bf16_blocked_model;
      std::optional<decode_runner<onednn_backend>> bf16_blocked_decode;
      if (bf16) {
        bf16_blocked_model.emplace(bf16_blocked_backend, bc.model, weights_of(bf16->model()));
        bf16_blocked_decode.emplace(*bf16_blocked_model);
      }
      std::vector<double> d_f32, d_stored, d_bf16, d_f32_blocked, d_bf16_blocked;
      std::vector<std::vector<double>> d_torch(torch.size()), d_torch_bf16(torch.size());
      for (int i = 0; i < 1 + opt.decode_reps; ++i) {  // the first repetition creates primitives
        const double a = f32_decode.run(opt.decode_tokens);
        const double s = stored_decode.run(opt.decode_tokens);
        const double b = bf16_decode ? bf16_decode->run(opt.decode_tokens) : not_measured;
        const double fb = f32_blocked_decode.run(opt.decode_tokens);
        const double bb = bf16_blocked_decode ? bf16_blocked_decode->run(opt.decode_tokens) : not_measured;
        if (i >= 1) {
          d_f32.push_back(a), d_stored.push_back(s), d_bf16.push_back(b);
          d_f32_blocked.push_back(fb), d_bf16_blocked.push_back(bb);
        }
        for (std::size_t k = 0; k < torch.size(); ++k) {
          const double c = torch[k]->decode();
          const double e = bf16 ? torch[k]->decode_bf16() : not_measured;
          if (i >= 1) d_torch[k].push_back(c), d_torch_bf16[k].push_back(e);
        }
      }
      // The faster policy per measurement, and what each gave.
      std::string settings;
      const auto best = [&](const std::vector<std::vector<double>>& times, const char* what) {
        double m = not_measured;
        std::size_t at = 0;
        for (std::size_t k = 0; k < times.size(); ++k)
          if (const double x = median(times[k]); std::isnan(m) || x < m) m = x, at = k;
        if (times.empty()) return not_measured;
        settings += std::string(settings.empty() ? "" : "; ") + what + ":";
        for (std::size_t k = 0; k < times.size(); ++k)
          settings += " " + anchors[k].policy_name() + " " + std::to_string(median(times[k])).substr(0, 7) + " s" + (k == at ? " (kept)" : "");
        return m;
      };
      const double ours_tps = tokens / median(t_f32), bf16_tps = tokens / median(t_bf16);
      const double torch_tps = tokens / best(t_torch, "train f32");
      const double torch_bf16_tps = bf16 ? tokens / best(t_torch_bf16, "train bf16 autocast") : not_measured;
      const double ours_dec = opt.decode_tokens / median(d_f32), bf16_dec = opt.decode_tokens / median(d_bf16);
      const double torch_dec = opt.decode_tokens / best(d_torch, "decode");
      const double stored_dec = opt.decode_tokens / median(d_stored);
      const double f32_blocked_dec = opt.decode_tokens / median(d_f32_blocked);
      const double bf16_blocked_dec = opt.decode_tokens / median(d_bf16_blocked);
      const double torch_bf16_dec = bf16 ? opt.decode_tokens / best(d_torch_bf16, "decode bf16 weights") : not_measured;
      if (!torch.empty())
        std::printf("# config %s pytorch anchor: torch threads 2, BLAS %s, OPENBLAS_CORETYPE=%s, GLIBC_TUNABLES=%s; "
                    "OMP_WAIT_POLICY medians: %s\n",
                    bc.name.c_str(), torch.front()->blas().c_str(), anchor_settings::openblas_coretype,
                    anchor_settings::malloc_tunables, settings.c_str());
      const double train_ratio = ours_tps / torch_tps;
      min_train_ratio = std::min(min_train_ratio, train_ratio);
      std::printf("config %s train ours_tps %.1f pytorch_tps %.1f ratio %.3f\n", bc.name.c_str(), ours_tps, torch_tps,
                  train_ratio);
      std::printf("# config %s train f32 with attention composed from products and softmax (the fused op hidden): "
                  "ours_tps %.1f; fused attention gains %.2fx\n",
                  bc.name.c_str(), tokens / median(t_composed), ours_tps / (tokens / median(t_composed)));
      std::printf("config %s decode ours_tps %.1f pytorch_tps %.1f ratio %.3f\n", bc.name.c_str(), ours_dec, torch_dec,
                  ours_dec / torch_dec);
      std::printf("# config %s decode f32 with weights as stored (no prepared copies): ours_tps %.1f; prepared copies "
                  "gain %.2fx\n",
                  bc.name.c_str(), stored_dec, ours_dec / stored_dec);
      std::printf("# config %s decode with oneDNN's blocked layout and matmul instead of the panel kernels (ours used "
                  "panels: f32 %s, bf16 %s): f32 ours_tps %.1f, bf16 ours_tps %.1f; ours / blocked %.2fx f32, %.2fx bf16\n",
                  bc.name.c_str(), transcendence::detail::panel_gemm_supported(false) ? "yes" : "no",
                  transcendence::detail::panel_gemm_supported(true) ? "yes" : "no", f32_blocked_dec, bf16_blocked_dec,
                  ours_dec / f32_blocked_dec, bf16_dec / bf16_blocked_dec);
      std::printf("config %s bf16_decode ours_tps %.1f pytorch_bf16_tps %.1f ratio %.3f (ratio to pytorch f32 decode %.3f)\n",
                  bc.name.c_str(), bf16_dec, torch_bf16_dec, bf16_dec / torch_bf16_dec, bf16_dec / torch_dec);
      std::printf("# config %s train_gflops ours_f32 %.1f ours_bf16 %.1f pytorch %.1f (f32 peak: nominal %.0f, f32 at "
                  "%.0f%% of it)\n",
                  bc.name.c_str(), ours_tps * flops / 1e9, bf16_tps * flops / 1e9, torch_tps * flops / 1e9,
                  opt.peak_gflops, 100.0 * ours_tps * flops / 1e9 / opt.peak_gflops);
      std::printf("config %s bf16_train ours_tps %.1f pytorch_autocast_tps %.1f ratio %.3f\n", bc.name.c_str(), bf16_tps,
                  torch_bf16_tps, bf16_tps / torch_bf16_tps);
      std::printf("# config %s bf16 train ours_tps %.1f ratio to pytorch f32 %.3f\n", bc.name.c_str(), bf16_tps,
                  bf16_tps / torch_tps);
      std::printf("# config %s step seconds (median of %d): ours_f32 %.4f ours_bf16 %.4f pytorch %.4f; load average %s\n",
                  bc.name.c_str(), opt.train_reps, median(t_f32), median(t_bf16), tokens / torch_tps, load_average().c_str());
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_transformer: %s\n", e.what());
    return 2;
  }
  std::printf("min_train_ratio %.3f\n", min_train_ratio);
  return 0;
}

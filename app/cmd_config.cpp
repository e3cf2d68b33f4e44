// `wdlab config`: print the fully resolved config a run would use, or (--explain) every key with
// its default and what it means.
#include <cstdio>

#include "commands.h"
#include "core/available_memory.h"
#include "core/error.h"
#include "run/config.h"
#include "run/memory_estimate.h"

namespace wdlab::cli {
namespace {

struct ConfigCmdArgs {
  ConfigArgs config;
  bool explain = false;
  int threads = 1;
};

// One line a key: dotted name, default (JSON), documentation; sections as in the schema.
void explain() {
  for (const SectionSchema* s : config_sections()) {
    for (const SchemaKey& k : s->keys) {
      std::printf("%-26s %-13s %s\n", s->dotted(k.key).c_str(), k.value.dump().c_str(),
                  k.doc.c_str());
    }
  }
}

}  // namespace

void register_config(CLI::App& app) {
  auto* cmd = app.add_subcommand("config", "Print the fully resolved config (JSON) of a run");
  auto args = std::make_shared<ConfigCmdArgs>();
  add_config_args(*cmd, args->config);
  cmd->add_flag("--explain", args->explain,
                "Print every key with its default and one line on what it does, instead");
  cmd->add_option("--threads", args->threads,
                  "Threads the run would use, for the memory estimate (on stderr)")
      ->capture_default_str();
  cmd->footer(
      "The resolved config goes to stdout; the run's memory estimate against the memory "
      "available, which `wdlab run` checks, to stderr.");
  cmd->callback([args] {
    if (args->explain) return explain();
    const ConfigArgs& a = args->config;
    const nlohmann::json cfg = resolve_config(load_preset(a.preset), a.scale, a.overrides);
    const RunConfig config = parse_run_config(cfg);  // the same checks as `run`
    WD_CHECK(args->threads >= 1, "--threads: must be at least 1, got {}", args->threads);
    std::printf("%s\n", cfg.dump(2).c_str());
    const MemoryEstimate need = estimate_run_memory(config, {.threads = args->threads});
    const AvailableMemory have = available_memory();
    std::fprintf(stderr, "memory estimate: %s; available: %s (%s)\n", need.describe().c_str(),
                 human_bytes(have.bytes).c_str(), have.source.c_str());
  });
}

}  // namespace wdlab::cli

// `wdlab inspect`: the parameter table of a preset with each tensor's kind and decay group.
#include <cstdio>

#include "commands.h"
#include "model/inspect.h"
#include "model/transformer.h"
#include "run/config.h"

namespace wdlab::cli {

void register_inspect(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "inspect", "Print a preset's parameter table: kinds and decay groups (selective, uniform)");
  auto args = std::make_shared<ConfigArgs>();
  add_config_args(*cmd, *args);
  cmd->callback([args] {
    RunConfig run = parse_run_config(
        resolve_config(load_preset(args->preset), args->scale, args->overrides));
    // The vocabulary comes from the data: synthetic data says it, text data is bytes.
    run.model.vocab_size = run.data.source == "text" ? 256 : run.data.synthetic.vocab_size;
    const Transformer<float> model(run.model, 1);
    const DecayPlan selective =
        build_decay_plan(model.table(), DecayScope::selective, run.optim.decay_rules);
    const DecayPlan uniform =
        build_decay_plan(model.table(), DecayScope::uniform, run.optim.decay_rules);
    std::printf("%s\n\n%s", describe(run.model).c_str(),
                format_param_table(model.table(), selective, uniform).c_str());
    if (!run.optim.decay_rules.empty()) {
      std::printf("(optim.decay_rules applied on top of both scopes)\n");
    }
  });
}

}  // namespace wdlab::cli

// `wdlab inspect`: the parameter table of a preset with each tensor's kind and decay group; with
// --format json the same for scripts, with the model's description and the resolved config.
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
  auto format = std::make_shared<std::string>("text");
  cmd->add_option("--format", *format, "Output: text (a table) or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd->callback([args, format] {
    RunConfig run =
        parse_run_config(resolve_config(load_preset(args->preset), args->scale, args->overrides));
    // The vocabulary comes from the data: synthetic data says it, text data is bytes.
    run.model.vocab_size = run.data.source == "text" ? 256 : run.data.synthetic.vocab_size;
    const Transformer<float> model(run.model, 1);
    const DecayPlan selective =
        build_decay_plan(model.table(), DecayScope::selective, run.optim.decay_rules);
    const DecayPlan uniform =
        build_decay_plan(model.table(), DecayScope::uniform, run.optim.decay_rules);
    if (*format == "json") {
      nlohmann::json j = param_table_json(model.table(), selective, uniform);
      j["preset"] = run.preset;
      j["scale"] = run.scale;
      j["model"] = describe(run.model);
      j["decay_rules_applied"] = !run.optim.decay_rules.empty();
      j["config"] = run.json;
      std::printf("%s\n", j.dump(2).c_str());
      return;
    }
    std::printf("%s\n\n%s", describe(run.model).c_str(),
                format_param_table(model.table(), selective, uniform).c_str());
    if (!run.optim.decay_rules.empty()) {
      std::printf("(optim.decay_rules applied on top of both scopes)\n");
    }
  });
}

}  // namespace wdlab::cli

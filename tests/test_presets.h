// The shipped presets as the tests use them.
#pragma once

#include <string>

#include "run/config.h"

namespace wdlab::test {

// A preset's resolved run config at a scale, with the model's vocabulary set to the synthetic
// language's (what the trainer does once the data is built).
inline RunConfig preset_run(const std::string& name, const std::string& scale = "parity") {
  RunConfig r = parse_run_config(resolve_config(load_preset(name), scale, {}));
  r.model.vocab_size = r.data.synthetic.vocab_size;
  return r;
}

// Its model config at the parity scale (a few thousand parameters).
inline ModelConfig preset_model(const std::string& name) {
  return preset_run(name).model;
}

}  // namespace wdlab::test

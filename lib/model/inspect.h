// The parameter table as a person reads it: every tensor with its shape, kind and decay group
// under selective and uniform decay, then the counts per group (what `wdlab inspect` prints).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/param_table.h"
#include "optim/param_groups.h"

namespace wdlab {

std::string format_param_table(const ParamTable& table, const DecayPlan& selective,
                               const DecayPlan& uniform);

// The same as JSON (`wdlab inspect --format json`): {"tensors": [{name, shape, numel, kind,
// selective, uniform}], "parameters", "groups": {"selective"|"uniform": {"decay"|"no_decay":
// {tensors, parameters}}}}; selective and uniform say whether the tensor decays under that scope.
nlohmann::json param_table_json(const ParamTable& table, const DecayPlan& selective,
                                const DecayPlan& uniform);

}  // namespace wdlab

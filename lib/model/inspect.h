// The parameter table as a person reads it: every tensor with its shape, kind and decay group
// under selective and uniform decay, then the counts per group (what `wdlab inspect` prints).
#pragma once

#include <string>

#include "core/param_table.h"
#include "optim/param_groups.h"

namespace wdlab {

std::string format_param_table(const ParamTable& table, const DecayPlan& selective,
                               const DecayPlan& uniform);

}  // namespace wdlab

// Fuzz target: the bytes of a safetensors file, loaded as a checkpoint is loaded into a small
// fixed model (the seed files hold its tensors), and into a model made of the file's own F32
// tensors, so that every well-formed header also reaches the copy of the data.
#include <string_view>
#include <vector>

#include "core/param_table.h"
#include "fuzz_target.h"
#include "io/safetensors.h"

namespace {

const char* const kWhere = "fuzz.safetensors";

// As tests/test_safetensors.cpp: a 2x3 matrix, a length-3 bias and a length-3 gain.
wdlab::ParamTable small_table() {
  wdlab::ParamTable t;
  t.add("h.0.fc.weight", {2, 3}, wdlab::ParamKind::matrix);
  t.add("h.0.fc.bias", {3}, wdlab::ParamKind::bias);
  t.add("h.0.ln.weight", {3}, wdlab::ParamKind::norm_gain);
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  static const wdlab::ParamTable table = small_table();
  std::vector<float> params(table.total());
  wdlab::fuzz::expect_clean(
      [&] { wdlab::load_safetensors_bytes(bytes, kWhere, table, params.data()); });

  wdlab::fuzz::expect_clean([&] {
    const wdlab::SafetensorsHeader h = wdlab::read_safetensors_header_bytes(bytes, kWhere);
    wdlab::ParamTable own;
    for (const wdlab::SafetensorsTensor& t : h.tensors) {
      if (t.dtype == "F32") own.add(t.name, t.shape, wdlab::ParamKind::matrix);
    }
    std::vector<float> own_params(own.total());
    wdlab::load_safetensors_bytes(bytes, kWhere, own, own_params.data());
  });
  return 0;
}

// Safetensors checkpoints: bit-exact round trips, the byte layout the format prescribes, a file
// laid out as Python's writer lays it out (bytes built by hand), the parity fixtures written by
// tools/parity/gen_parity.py, and one clear error (file path + tensor name) per kind of bad file.
#include <gtest/gtest.h>

#include "test_util.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/param_table.h"
#include "io/safetensors.h"

namespace wdlab {
namespace {
using test::error_of;
namespace fs = std::filesystem;
using nlohmann::json;

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string u64_le(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return s;
}

std::string floats_le(const std::vector<float>& v) {
  std::string s(v.size() * sizeof(float), '\0');
  std::memcpy(s.data(), v.data(), s.size());
  return s;
}

// A file from a header text (padded here) and raw data bytes.
std::string file_bytes(std::string header, const std::string& data) {
  header.append((8 - header.size() % 8) % 8, ' ');
  return u64_le(header.size()) + header + data;
}

// A 2x3 matrix, a length-3 bias and a length-3 gain: 12 floats, 48 bytes.
ParamTable small_table() {
  ParamTable t;
  t.add("h.0.fc.weight", {2, 3}, ParamKind::matrix);
  t.add("h.0.fc.bias", {3}, ParamKind::bias);
  t.add("h.0.ln.weight", {3}, ParamKind::norm_gain);
  return t;
}

std::vector<float> ramp(size_t n, float start) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = start + 0.25f * static_cast<float>(i);
  return v;
}

class SafetensorsTest : public ::testing::Test {
 protected:
  fs::path dir = fs::temp_directory_path() /
                 ("wdlab_safetensors_" +
                  std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
  fs::path file = dir / "ckpt.safetensors";
  ParamTable table = small_table();

  void SetUp() override {
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }

  // Writes the hand-made file and returns the error loading it into the small table.
  std::string load_error(const std::string& header, const std::string& data) {
    write_bytes(file, file_bytes(header, data));
    std::vector<float> params(table.total(), 7.0f);
    const std::string msg = error_of([&] { load_safetensors(file, table, params.data()); });
    for (float p : params) EXPECT_EQ(p, 7.0f) << "params changed by a failed load";
    EXPECT_NE(msg.find(file.string()), std::string::npos) << msg;
    return msg;
  }
};

// The three tensors of small_table() at consecutive offsets, in a given dtype for the gain.
std::string small_header(const std::string& gain_dtype = "F32") {
  return R"({"h.0.fc.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
         R"("h.0.fc.bias":{"dtype":"F32","shape":[3],"data_offsets":[24,36]},)"
         R"("h.0.ln.weight":{"dtype":")" +
         gain_dtype + R"(","shape":[3],"data_offsets":[36,48]}})";
}

TEST_F(SafetensorsTest, RoundTripIsBitExactWithMetadata) {
  // Special values must survive as bit patterns: -0, denormal, inf, a NaN with a payload.
  std::vector<float> params = ramp(table.total(), -1.0f);
  params[1] = -0.0f;
  params[2] = std::numeric_limits<float>::denorm_min();
  params[3] = std::numeric_limits<float>::infinity();
  const uint32_t nan_bits = 0x7fc01234u;
  std::memcpy(&params[4], &nan_bits, 4);
  const std::map<std::string, std::string> meta = {
      {"step", "100"}, {"config_id", "0123abcd"}, {"note", "λ = 0.1, \"quoted\""}};
  save_safetensors(file, table, params.data(), meta);

  std::vector<float> back(table.total(), 0.0f);
  EXPECT_EQ(load_safetensors(file, table, back.data()), meta);
  EXPECT_EQ(std::memcmp(back.data(), params.data(), params.size() * sizeof(float)), 0);

  // Saving over an existing file replaces it and leaves no temporary file behind.
  save_safetensors(file, table, back.data(), {});
  EXPECT_TRUE(load_safetensors(file, table, params.data()).empty());
  size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++files;
  EXPECT_EQ(files, 1u);
}

TEST_F(SafetensorsTest, LayoutHeaderPaddedToEightBytesDataInTableOrder) {
  const std::vector<float> params = ramp(table.total(), 1.0f);
  for (const std::string note : {"", "a", "ab", "abc", "abcd", "abcde", "abcdef", "abcdefg"}) {
    save_safetensors(file, table, params.data(), {{"n", note}});
    const std::string bytes = read_bytes(file);
    ASSERT_GE(bytes.size(), 8u);
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
    EXPECT_EQ(n % 8, 0u) << "note '" << note << "'";
    ASSERT_EQ(bytes.size(), 8 + n + params.size() * sizeof(float));
    const std::string header = bytes.substr(8, n);
    // Padding is spaces after the JSON, at most 7 of them.
    const size_t close = header.find_last_of('}');
    EXPECT_LT(header.size() - close - 1, 8u);
    EXPECT_EQ(header.find_first_not_of(' ', close + 1), std::string::npos);

    const json h = json::parse(header);
    EXPECT_EQ(h["__metadata__"]["n"], note);
    uint64_t pos = 0;
    for (const ParamInfo& p : table) {
      EXPECT_EQ(h[p.name]["dtype"], "F32");
      EXPECT_EQ(h[p.name]["shape"].get<std::vector<int64_t>>(), p.shape);
      EXPECT_EQ(h[p.name]["data_offsets"], json::array({pos, pos + 4 * p.numel})) << p.name;
      EXPECT_EQ(std::memcmp(bytes.data() + 8 + n + pos, params.data() + p.offset, 4 * p.numel), 0);
      pos += 4 * p.numel;
    }
  }
  // No metadata: no "__metadata__" entry (as Python's writer).
  save_safetensors(file, table, params.data(), {});
  const std::string bytes = read_bytes(file);
  EXPECT_EQ(bytes.find("__metadata__"), std::string::npos);
}

TEST_F(SafetensorsTest, HeaderListsTensorsInDataOrder) {
  const std::vector<float> params = ramp(table.total(), 0.0f);
  save_safetensors(file, table, params.data(), {{"step", "3"}});
  const SafetensorsHeader h = read_safetensors_header(file);
  EXPECT_EQ(h.metadata.at("step"), "3");
  EXPECT_EQ(h.header_bytes % 8, 0u);
  EXPECT_EQ(h.data_bytes, 48u);
  ASSERT_EQ(h.tensors.size(), 3u);
  EXPECT_EQ(h.tensors[0].name, "h.0.fc.weight");
  EXPECT_EQ(h.tensors[1].name, "h.0.fc.bias");
  EXPECT_EQ(h.tensors[2].name, "h.0.ln.weight");
  EXPECT_EQ(h.tensors[2].dtype, "F32");
  EXPECT_EQ(h.tensors[2].shape, std::vector<int64_t>{3});
  EXPECT_EQ(h.tensors[2].begin, 36u);
  EXPECT_EQ(h.tensors[2].end, 48u);
}

// The layout of huggingface/safetensors' Python writer (save_file): compact JSON, "__metadata__"
// first, tensors sorted by name (so not in our table order), header padded with spaces.
TEST_F(SafetensorsTest, LoadsPythonReferenceLayout) {
  const std::string header =
      R"({"__metadata__":{"format":"pt","step":"7"},)"
      R"("h.0.fc.bias":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},)"
      R"("h.0.fc.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[12,36]},)"
      R"("h.0.ln.weight":{"dtype":"F32","shape":[3],"data_offsets":[36,48]}})";
  ASSERT_EQ(header.size(), 243u);  // padded with 5 spaces to 248
  const std::vector<float> bias = {0.5f, -0.5f, 1.5f};
  const std::vector<float> weight = {1, 2, 3, 4, 5, 6};
  const std::vector<float> gain = {1.0f, 0.75f, 1.25f};
  const std::string bytes =
      file_bytes(header, floats_le(bias) + floats_le(weight) + floats_le(gain));
  ASSERT_EQ(bytes.substr(0, 8), std::string("\xf8\0\0\0\0\0\0\0", 8));  // 248 little-endian
  write_bytes(file, bytes);

  std::vector<float> params(table.total(), 0.0f);
  const auto meta = load_safetensors(file, table, params.data());
  EXPECT_EQ(meta, (std::map<std::string, std::string>{{"format", "pt"}, {"step", "7"}}));
  const std::vector<float> want = {1, 2, 3, 4, 5, 6, 0.5f, -0.5f, 1.5f, 1.0f, 0.75f, 1.25f};
  EXPECT_EQ(params, want);
}

TEST_F(SafetensorsTest, ErrorsShortFileAndHeaderLength) {
  const std::string data = floats_le(ramp(12, 0.0f));
  write_bytes(file, "abc");
  EXPECT_NE(error_of([&] { read_safetensors_header(file); }).find("shorter than"),
            std::string::npos);

  std::string msg = load_error("", "");  // empty header, nothing to read: length 0, not JSON
  EXPECT_NE(msg.find("safetensors header: malformed JSON"), std::string::npos) << msg;

  write_bytes(file, u64_le(1000) + small_header());
  msg = error_of([&] { read_safetensors_header(file); });
  EXPECT_NE(msg.find("header length 1000 exceeds the file"), std::string::npos) << msg;
  EXPECT_NE(msg.find(file.string()), std::string::npos) << msg;

  write_bytes(file, u64_le(200'000'000) + small_header());
  msg = error_of([&] { read_safetensors_header(file); });
  EXPECT_NE(msg.find("exceeds the limit of 100000000"), std::string::npos) << msg;
  EXPECT_NE(msg.find(file.string()), std::string::npos) << msg;

  const fs::path missing = dir / "nope.safetensors";
  msg = error_of([&] { read_safetensors_header(missing); });
  EXPECT_NE(msg.find(missing.string()), std::string::npos) << msg;
}

TEST_F(SafetensorsTest, ErrorsMalformedHeader) {
  const std::string data = floats_le(ramp(12, 0.0f));
  std::string msg = load_error(R"({"h.0.fc.weight": {"dtype": "F32", )", data);
  EXPECT_NE(msg.find("safetensors header: malformed JSON"), std::string::npos) << msg;

  // A number beyond double's range: nlohmann's message alone names neither file nor tensor.
  msg = load_error(
      R"({"h.0.fc.weight": {"dtype": "F32", "shape": [2, 1e400], "data_offsets": [0, 24]}})", data);
  EXPECT_NE(msg.find(file.string() + ": safetensors header: /h.0.fc.weight/shape/1: the number "
                                     "1e400 is out of range"),
            std::string::npos)
      << msg;

  msg = load_error("[1, 2]", data);
  EXPECT_NE(msg.find("not a JSON object"), std::string::npos) << msg;

  msg = load_error(
      R"({"__metadata__":{"step":3},"h.0.fc.weight":{"dtype":"F32","shape":[12],"data_offsets":[0,48]}})",
      data);
  EXPECT_NE(msg.find("__metadata__"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'step'"), std::string::npos) << msg;

  msg = load_error(R"({"a":{"dtype":"F32","shape":[6],"data_offsets":[0,24]},)"
                   R"("a":{"dtype":"F32","shape":[6],"data_offsets":[24,48]}})",
                   data);
  EXPECT_NE(msg.find("'a' twice"), std::string::npos) << msg;

  msg = load_error(R"({"h.0.fc.weight":{"dtype":"F33","shape":[12],"data_offsets":[0,48]}})", data);
  EXPECT_NE(msg.find("'h.0.fc.weight'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unknown dtype 'F33'"), std::string::npos) << msg;

  msg =
      load_error(R"({"h.0.fc.weight":{"dtype":"F32","shape":[-2,6],"data_offsets":[0,48]}})", data);
  EXPECT_NE(msg.find("'h.0.fc.weight'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("shape"), std::string::npos) << msg;

  msg = load_error(R"({"h.0.fc.weight":{"dtype":"F32","shape":[12],"data_offsets":[0]}})", data);
  EXPECT_NE(msg.find("'h.0.fc.weight'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("data_offsets"), std::string::npos) << msg;
}

// A shape nested half a million levels deep overflowed the stack when the error message printed
// it (nlohmann dumps recursively): such a header is refused before it is parsed.
TEST_F(SafetensorsTest, ErrorsDeeplyNestedHeader) {
  const std::string deep = std::string(500000, '[') + std::string(500000, ']');
  const std::string msg = load_error(
      R"({"h.0.fc.weight":{"dtype":"F32","shape":)" + deep + R"(,"data_offsets":[0,48]}})",
      floats_le(ramp(12, 0.0f)));
  EXPECT_NE(msg.find("nested deeper than"), std::string::npos) << msg;
}

TEST_F(SafetensorsTest, ErrorsBadOffsets) {
  const std::string data = floats_le(ramp(12, 0.0f));
  // Span does not match dtype x shape.
  std::string msg =
      load_error(R"({"h.0.fc.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]},)"
                 R"("h.0.fc.bias":{"dtype":"F32","shape":[3],"data_offsets":[20,32]},)"
                 R"("h.0.ln.weight":{"dtype":"F32","shape":[4],"data_offsets":[32,48]}})",
                 data);
  EXPECT_NE(msg.find("'h.0.fc.weight'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("span 20 bytes"), std::string::npos) << msg;
  EXPECT_NE(msg.find("need 24"), std::string::npos) << msg;

  // End before begin.
  msg = load_error(R"({"h.0.fc.weight":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", data);
  EXPECT_NE(msg.find("'h.0.fc.weight'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("end before"), std::string::npos) << msg;

  // Overlap: the bias starts inside the weight.
  msg = load_error(R"({"h.0.fc.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
                   R"("h.0.fc.bias":{"dtype":"F32","shape":[3],"data_offsets":[20,32]},)"
                   R"("h.0.ln.weight":{"dtype":"F32","shape":[4],"data_offsets":[32,48]}})",
                   data);
  EXPECT_NE(msg.find("'h.0.fc.bias'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("overlaps tensor 'h.0.fc.weight'"), std::string::npos) << msg;

  // Gap between the weight and the bias.
  msg = load_error(R"({"h.0.fc.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
                   R"("h.0.fc.bias":{"dtype":"F32","shape":[3],"data_offsets":[28,40]},)"
                   R"("h.0.ln.weight":{"dtype":"F32","shape":[2],"data_offsets":[40,48]}})",
                   data);
  EXPECT_NE(msg.find("'h.0.fc.bias'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("gap after byte 24"), std::string::npos) << msg;

  // Trailing bytes after the last tensor (the last offset must be the end of the file).
  msg = load_error(small_header(), data + "xxxx");
  EXPECT_NE(msg.find("cover 48 bytes"), std::string::npos) << msg;
  EXPECT_NE(msg.find("holds 52"), std::string::npos) << msg;

  // Data cut short.
  msg = load_error(small_header(), data.substr(0, 40));
  EXPECT_NE(msg.find("holds 40"), std::string::npos) << msg;
}

// The format carries any float, NaN and Inf included (the round trip above); a run must not
// start from them, or it "diverges at step 1": require_finite, which --init-from applies after
// loading, names the file and the first tensor holding one.
TEST_F(SafetensorsTest, NonFiniteWeightsAreNamedByRequireFinite) {
  std::vector<float> values = ramp(12, 0.0f);
  values[7] = std::numeric_limits<float>::quiet_NaN();  // the bias, index 1
  write_bytes(file, file_bytes(small_header(), floats_le(values)));
  std::vector<float> params(12);
  load_safetensors(file, table, params.data());
  std::string msg = error_of([&] { require_finite(table, params.data(), file.string()); });
  EXPECT_NE(msg.find(file.string() + ": tensor 'h.0.fc.bias' holds 1 non-finite value (the first, "
                                     "nan, at index 1 of 3)"),
            std::string::npos)
      << msg;

  params = ramp(12, 0.0f);
  params[10] = std::numeric_limits<float>::infinity();  // the gain, index 1 and 2
  params[11] = -std::numeric_limits<float>::infinity();
  msg = error_of([&] { require_finite(table, params.data(), "x.safetensors"); });
  EXPECT_NE(msg.find("x.safetensors: tensor 'h.0.ln.weight' holds 2 non-finite values (the first, "
                     "inf, at index 1 of 3)"),
            std::string::npos)
      << msg;
  EXPECT_NO_THROW(require_finite(table, ramp(12, -1.0f).data(), "x.safetensors"));
}

TEST_F(SafetensorsTest, ErrorsAgainstTheTable) {
  const std::string data = floats_le(ramp(12, 0.0f));
  // Wrong dtype: F16 with the byte count of 6 halves in place of the 3-float gain.
  std::string msg =
      load_error(R"({"h.0.fc.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
                 R"("h.0.fc.bias":{"dtype":"F32","shape":[3],"data_offsets":[24,36]},)"
                 R"("h.0.ln.weight":{"dtype":"F16","shape":[6],"data_offsets":[36,48]}})",
                 data);
  EXPECT_NE(msg.find("'h.0.ln.weight' has dtype F16, expected F32"), std::string::npos) << msg;

  // Missing tensor: the gain's bytes belong to a norm bias the table does not have.
  msg = load_error(R"({"h.0.fc.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
                   R"("h.0.fc.bias":{"dtype":"F32","shape":[3],"data_offsets":[24,36]},)"
                   R"("h.0.ln.bias":{"dtype":"F32","shape":[3],"data_offsets":[36,48]}})",
                   data);
  EXPECT_NE(msg.find("'h.0.ln.weight' of the model is missing"), std::string::npos) << msg;

  // Wrong shape: the weight transposed.
  msg = load_error(R"({"h.0.fc.weight":{"dtype":"F32","shape":[3,2],"data_offsets":[0,24]},)"
                   R"("h.0.fc.bias":{"dtype":"F32","shape":[3],"data_offsets":[24,36]},)"
                   R"("h.0.ln.weight":{"dtype":"F32","shape":[3],"data_offsets":[36,48]}})",
                   data);
  EXPECT_NE(msg.find("'h.0.fc.weight' has shape [3, 2] in the file, the model expects [2, 3]"),
            std::string::npos)
      << msg;

  // Extra tensor not in the table.
  msg = load_error(R"({"h.0.fc.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
                   R"("h.0.fc.bias":{"dtype":"F32","shape":[3],"data_offsets":[24,36]},)"
                   R"("h.0.ln.weight":{"dtype":"F32","shape":[3],"data_offsets":[36,48]},)"
                   R"("lm_head.weight":{"dtype":"F32","shape":[1],"data_offsets":[48,52]}})",
                   data + floats_le({1.0f}));
  EXPECT_NE(msg.find("'lm_head.weight' in the file is not a parameter of the model"),
            std::string::npos)
      << msg;

  // The good header itself loads (the cases above fail for their one reason).
  write_bytes(file, file_bytes(small_header(), data));
  std::vector<float> params(12);
  load_safetensors(file, table, params.data());
  EXPECT_EQ(params, ramp(12, 0.0f));
}

// The parity fixtures are written by Python (tools/parity/gen_parity.py): every init.safetensors
// loads into a table built from its own header, and the tensor norms match fixture.json.
TEST(SafetensorsFixtures, ParityInitFilesLoadWithRecordedNorms) {
  const fs::path root = fs::path(WDLAB_SOURCE_DIR) / "tests" / "fixtures" / "parity";
  ASSERT_TRUE(fs::is_directory(root)) << root;
  int families = 0;
  for (const auto& entry : fs::directory_iterator(root)) {
    if (!entry.is_directory()) continue;
    const fs::path st = entry.path() / "init.safetensors";
    std::ifstream fj(entry.path() / "fixture.json");
    ASSERT_TRUE(fj.is_open()) << entry.path();
    const json fixture = json::parse(fj);

    const SafetensorsHeader h = read_safetensors_header(st);
    ParamTable table;
    for (const auto& t : h.tensors) table.add(t.name, t.shape, ParamKind::matrix);
    std::vector<float> params(table.total());
    const auto meta = load_safetensors(st, table, params.data());
    EXPECT_EQ(meta.at("family"), fixture["family"].get<std::string>());
    ASSERT_EQ(table.size(), fixture["params"].size()) << st;
    for (const json& p : fixture["params"]) {
      const auto row = table.find(p["name"].get<std::string>());
      ASSERT_TRUE(row.has_value()) << p["name"];
      EXPECT_EQ(table[*row].shape, p["shape"].get<std::vector<int64_t>>()) << p["name"];
      double sum = 0.0;
      for (size_t i = 0; i < table[*row].numel; ++i) {
        const double v = params[table[*row].offset + i];
        sum += v * v;
      }
      EXPECT_NEAR(std::sqrt(sum), p["init_norm"].get<double>(), 1e-9 * p["init_norm"].get<double>())
          << p["name"];
    }
    ++families;
  }
  EXPECT_EQ(families, 7);
}

}  // namespace
}  // namespace wdlab

// Run records and export: SHA-256, the config id of a run started from a weights file, run.json,
// and the CSV files of `wdlab export`.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/sha256.h"
#include "io/atomic_file.h"
#include "report/export.h"
#include "run/config.h"
#include "run/run_record.h"
#include "test_util.h"

namespace wdlab {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using test::error_of;

// FIPS 180-4 examples, and lengths around the padding boundary (55, 56, 64 bytes) against
// digests from `sha256sum`.
TEST(Sha256, KnownDigests) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(55, 'a')),
            "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  EXPECT_EQ(sha256_hex(std::string(56, 'a')),
            "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
  EXPECT_EQ(sha256_hex(std::string(64, 'a')),
            "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

TEST(Sha256, FileInChunksEqualsBytes) {
  const fs::path file = fs::temp_directory_path() / "wdlab_sha256_test.bin";
  std::string bytes;
  for (int i = 0; i < 200000; ++i) bytes += static_cast<char>(i * 7 + (i >> 8));
  write_file_atomic(file, bytes);
  EXPECT_EQ(sha256_file(file), sha256_hex(bytes));
  fs::remove(file);
  const std::string msg = error_of([&] { sha256_file(file); });
  EXPECT_NE(msg.find(file.string()), std::string::npos) << msg;
}

json gpt2_tiny() {
  return resolve_config(load_preset("gpt2"), "tiny", {});
}

// Starting from a weights file is another run: the file's hash enters the id. Without one the id
// is the one every earlier run has (test_config pins it).
TEST(ConfigId, InitialWeightsEnterTheId) {
  const json c = gpt2_tiny();
  const std::string a(64, 'a'), b(64, 'b');
  EXPECT_EQ(config_id(c, ""), config_id(c));
  EXPECT_NE(config_id(c, a), config_id(c));
  EXPECT_NE(config_id(c, a), config_id(c, b));
  EXPECT_EQ(config_id(c, a), config_id(c, a));
}

class RecordDir : public ::testing::Test {
 protected:
  fs::path dir =
      fs::temp_directory_path() /
      ("wdlab_records_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
       ::testing::UnitTest::GetInstance()->current_test_info()->name());
  void SetUp() override {
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }
  json read(const fs::path& file) {
    std::ifstream in(file);
    return json::parse(in);
  }
  std::string text(const fs::path& file) {
    std::ifstream in(file);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
};

// One invocation, then a resumed one: both are kept, with their command lines and times.
TEST_F(RecordDir, RunJsonKeepsEveryInvocation) {
  RunRecord first({"wdlab", "run", "--out", "x"}, 2);
  first.begin(dir, "0123456789abcdef", nullptr, 0);
  json j = read(dir / kRunRecordFile);
  EXPECT_EQ(j["status"], "running");
  EXPECT_TRUE(j["ended"].is_null());
  ASSERT_EQ(j["invocations"].size(), 1u);
  EXPECT_EQ(j["invocations"][0]["argv"][2], "--out");
  EXPECT_EQ(j["invocations"][0]["threads"], 2);
  EXPECT_EQ(j["invocations"][0]["cwd"], fs::current_path().string());
  first.end("interrupted");

  RunRecord second({"wdlab", "run", "--resume", "x"}, 1);
  second.begin(dir, "0123456789abcdef", nullptr, 40);
  second.end("finished");
  j = read(dir / kRunRecordFile);
  ASSERT_EQ(j["invocations"].size(), 2u);
  EXPECT_EQ(j["invocations"][0]["status"], "interrupted");
  EXPECT_EQ(j["invocations"][1]["from_step"], 40);
  EXPECT_EQ(j["invocations"][1]["argv"][2], "--resume");
  EXPECT_EQ(j["status"], "finished");
  EXPECT_EQ(j["started"], j["invocations"][0]["start"]);
  EXPECT_EQ(j["ended"], j["invocations"][1]["end"]);
  // UTC, ISO 8601: 2026-12-01T18:00:00Z
  const std::string t = j["ended"];
  ASSERT_EQ(t.size(), 20u) << t;
  EXPECT_EQ(t[10], 'T');
  EXPECT_EQ(t.back(), 'Z');
}

// A run directory whose name and config values hold commas and quotes: every cell stays one
// cell (RFC 4180 quoting), as pandas and R read it.
TEST_F(RecordDir, ExportQuotesCommasAndQuotes) {
  const fs::path run = dir / "lr=0.1,\"quoted\"";
  fs::create_directories(run);
  json config = gpt2_tiny();
  config["data"]["path"] = "my data, \"v2\".txt";
  config["wdlab"] = {{"config_id", "0123456789abcdef"}};
  write_file_atomic(run / "config.json", config.dump(2));
  write_file_atomic(run / "summary.json", json{{"status", "finished"},
                                               {"config_id", "0123456789abcdef"},
                                               {"final_val_loss", 3.25},
                                               {"resumed_at", json::array()}}
                                              .dump(2));
  write_file_atomic(run / "metrics.jsonl",
                    "{\"step\":0,\"val_loss\":4.5}\n{\"step\":5,\"train_loss\":4.0,\"lr\":0.001}\n"
                    "{\"step\":10,\"val_loss\":null}\nnot json\n");

  const ExportTables t = export_tables(run);
  const ExportFiles files = write_export(t, dir / "out");
  const std::string runs = text(files.runs);
  std::istringstream lines(runs);
  std::string header, row;
  std::getline(lines, header);
  std::getline(lines, row);
  EXPECT_NE(header.find(",data.path,"), std::string::npos) << header;  // one run: every key
  EXPECT_NE(header.find(",final_val_loss"), std::string::npos) << header;
  EXPECT_EQ(header.find("resumed_at"), std::string::npos) << "not a number: " << header;
  EXPECT_EQ(row.rfind("\"lr=0.1,\"\"quoted\"\"\",", 0), 0u) << row;
  EXPECT_NE(row.find(",\"my data, \"\"v2\"\".txt\","), std::string::npos) << row;
  EXPECT_NE(row.find(",finished,0123456789abcdef,"), std::string::npos) << row;
  EXPECT_NE(row.find(",3.25"), std::string::npos) << row;

  // Long format, in step order; the null and the torn line are left out; whole numbers without a
  // fraction.
  EXPECT_EQ(text(files.metrics),
            "run,step,key,value\n"
            "\"lr=0.1,\"\"quoted\"\"\",0,val_loss,4.5\n"
            "\"lr=0.1,\"\"quoted\"\"\",5,lr,0.001\n"
            "\"lr=0.1,\"\"quoted\"\"\",5,train_loss,4\n");
}

TEST_F(RecordDir, ExportRefusesWhatIsNotARunOrSweep) {
  std::string msg = error_of([&] { export_tables(dir); });
  EXPECT_NE(msg.find("neither a sweep directory"), std::string::npos) << msg;
  EXPECT_NE(msg.find(dir.string()), std::string::npos) << msg;
  write_file_atomic(dir / "config.json", "{\"seed\": 1}");
  msg = error_of([&] { export_tables(dir); });
  EXPECT_NE(msg.find("not a wdlab run config"), std::string::npos) << msg;
  msg = error_of([&] { export_tables(dir / "missing"); });
  EXPECT_NE(msg.find("not a directory"), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(dir / "runs.csv"));
}

}  // namespace
}  // namespace wdlab

// TensorBoard event files: CRC-32C against published check values, the masked CRC, the protobuf
// wire encoding byte by byte, TFRecord framing and damage detection, cutting a file back to a
// step on resume, and the metrics-key to tag mapping. tests/cli/tensorboard_events.sh parses
// real runs' files with Python's protobuf library, independently of this code.
#include <gtest/gtest.h>

#include "test_util.h"

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "io/crc32c.h"
#include "io/protobuf_wire.h"
#include "io/tensorboard_events.h"
#include "io/tfrecord.h"
#include "run/tensorboard_tags.h"

namespace wdlab {
namespace {
namespace fs = std::filesystem;

std::string bytes_of(std::initializer_list<int> v) {
  std::string s;
  for (int b : v) s.push_back(static_cast<char>(b));
  return s;
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The check value of the CRC catalogue ("123456789") and the test vectors of RFC 3720 (iSCSI),
// appendix B.4.
TEST(Crc32c, KnownVectors) {
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);
  EXPECT_EQ(crc32c(std::string(32, '\0').data(), 32), 0x8A9136AAu);
  EXPECT_EQ(crc32c(std::string(32, '\xff').data(), 32), 0x62A8AB43u);
  std::string ascending;
  for (int i = 0; i < 32; ++i) ascending.push_back(static_cast<char>(i));
  EXPECT_EQ(crc32c(ascending.data(), 32), 0x46DD794Eu);
  EXPECT_EQ(crc32c("", 0), 0u);
}

TEST(Crc32c, MaskedAsTensorFlowStoresIt) {
  EXPECT_EQ(mask_crc32c(0), 0xA282EAD8u);
  // ((0xE3069283 >> 15) | (0xE3069283 << 17)) + 0xA282EAD8, modulo 2^32.
  EXPECT_EQ(masked_crc32c("123456789", 9), 0xC78AB0E5u);
}

TEST(ProtobufWire, EncodesEachWireType) {
  std::string s;
  put_varint(s, 300);  // the protobuf documentation's example: AC 02
  EXPECT_EQ(s, bytes_of({0xAC, 0x02}));
  s.clear();
  put_int64(s, 2, -1);  // key 0x10, then ten bytes: negative int64 is a 64-bit varint
  EXPECT_EQ(s, bytes_of({0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}));
  s.clear();
  put_double(s, 1, 1.0);  // key 0x09, IEEE 754 little-endian
  EXPECT_EQ(s, bytes_of({0x09, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F}));
  s.clear();
  put_float(s, 2, 1.0f);  // key 0x15
  EXPECT_EQ(s, bytes_of({0x15, 0, 0, 0x80, 0x3F}));
  s.clear();
  put_string(s, 1, "lr");  // key 0x0A, length, bytes
  EXPECT_EQ(s, bytes_of({0x0A, 0x02, 'l', 'r'}));
}

TEST(ProtobufWire, ReadsBackTheStep) {
  const std::string event = encode_scalars_event(1.5e9, 123456789012, {{"lr", 0.5f}});
  int64_t step = -1;
  ASSERT_TRUE(read_int64_field(event, 2, step));
  EXPECT_EQ(step, 123456789012);
  ASSERT_TRUE(read_int64_field(encode_file_version_event(1.5e9), 2, step));
  EXPECT_EQ(step, 0);
  EXPECT_FALSE(read_int64_field(event.substr(0, event.size() - 1), 2, step));
}

TEST(TensorBoardEvents, EncodesAScalarEventFieldByField) {
  const std::string event = encode_scalars_event(1.0, 5, {{"lr", 1.0f}});
  // wall_time (1, fixed64), step (2, varint), summary (5, length-delimited) holding one
  // Summary.value (1) with tag (1) and simple_value (2, fixed32).
  const std::string value = bytes_of({0x0A, 0x02, 'l', 'r', 0x15, 0, 0, 0x80, 0x3F});
  const std::string summary = bytes_of({0x0A, static_cast<int>(value.size())}) + value;
  EXPECT_EQ(event, bytes_of({0x09, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F, 0x10, 0x05, 0x2A,
                             static_cast<int>(summary.size())}) +
                       summary);
}

TEST(TfRecord, FramesAndScansRecords) {
  const std::string a = tfrecord_frame("first"), b = tfrecord_frame("");
  ASSERT_EQ(a.size(), 16u + 5u);
  // Length 5 (LE), then its masked CRC.
  EXPECT_EQ(a.substr(0, 8), bytes_of({5, 0, 0, 0, 0, 0, 0, 0}));
  const std::string both = a + b;  // the records view into it
  const TfRecordScan scan = scan_tfrecords(both);
  ASSERT_EQ(scan.records.size(), 2u);
  EXPECT_EQ(scan.records[0].data, "first");
  EXPECT_EQ(scan.records[1].data, "");
  EXPECT_EQ(scan.intact_bytes, a.size() + b.size());
  EXPECT_TRUE(scan.damage.empty());
}

TEST(TfRecord, StopsAtTheFirstDamagedRecord) {
  const std::string a = tfrecord_frame("first"), b = tfrecord_frame("second");
  std::string flipped = a + b;
  flipped[a.size() + 13] ^= 1;  // a data byte of the second record
  TfRecordScan scan = scan_tfrecords(flipped);
  EXPECT_EQ(scan.records.size(), 1u);
  EXPECT_EQ(scan.intact_bytes, a.size());
  EXPECT_NE(scan.damage.find("data CRC"), std::string::npos) << scan.damage;

  flipped = a + b;
  flipped[a.size()] ^= 1;  // the second record's length
  scan = scan_tfrecords(flipped);
  EXPECT_EQ(scan.records.size(), 1u);
  EXPECT_NE(scan.damage.find("length CRC"), std::string::npos) << scan.damage;

  const std::string torn = a + b.substr(0, b.size() - 1);  // killed while writing
  scan = scan_tfrecords(torn);
  EXPECT_EQ(scan.records.size(), 1u);
  EXPECT_NE(scan.damage.find("cut short"), std::string::npos) << scan.damage;
}

class EventsDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("wdlab_tb_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::vector<int64_t> steps_in(const fs::path& file) {
    const std::string bytes = read_bytes(file);
    const TfRecordScan scan = scan_tfrecords(bytes);
    EXPECT_TRUE(scan.damage.empty()) << scan.damage;
    std::vector<int64_t> steps;
    for (const TfRecord& r : scan.records) {
      int64_t step = 0;
      EXPECT_TRUE(read_int64_field(r.data, 2, step));
      steps.push_back(step);
    }
    return steps;
  }
  fs::path dir_;
};

TEST_F(EventsDir, ResumeCutsTheOldFileAndStartsANewOne) {
  fs::path first;
  {
    TensorBoardEvents events(dir_);
    first = events.path();
    EXPECT_TRUE(first.filename().string().starts_with("events.out.tfevents."));
    for (int step : {0, 10, 20, 30}) events.write_scalars(step, {{"train/loss", 1.0f * step}});
  }
  std::ofstream(first, std::ios::app | std::ios::binary) << "torn";  // killed mid-record
  fs::path second;
  {
    TensorBoardEvents events(dir_, 20);  // the checkpoint was at step 20
    second = events.path();
    events.write_scalars(30, {{"train/loss", 30.0f}});
  }
  ASSERT_NE(first, second);
  EXPECT_LT(first.filename(), second.filename()) << "TensorBoard reads files in name order";
  EXPECT_EQ(steps_in(first), (std::vector<int64_t>{0, 0, 10, 20}));
  // file_version, SessionLog START at the first step trained again, then the new events.
  EXPECT_EQ(steps_in(second), (std::vector<int64_t>{0, 21, 30}));
}

TEST_F(EventsDir, RefusesAFileThatIsNotAnEventsFile) {
  const fs::path bogus = dir_ / "events.out.tfevents.1.host";
  std::ofstream(bogus) << "not a TFRecord file at all";
  const std::string e = test::error_of([&] { TensorBoardEvents events(dir_, 5); });
  EXPECT_NE(e.find(bogus.string()), std::string::npos) << e;
}

TEST(TensorBoardTags, EveryMetricsKeyHasAClearTag) {
  EXPECT_EQ(tensorboard_tag("train_loss"), "train/loss");
  EXPECT_EQ(tensorboard_tag("val_loss"), "val/loss");
  EXPECT_EQ(tensorboard_tag("lr"), "lr");
  EXPECT_EQ(tensorboard_tag("grad_norm"), "grad_norm");
  EXPECT_EQ(tensorboard_tag("norm.matrix"), "norm/matrix");
  EXPECT_EQ(tensorboard_tag("grad_norm.norm_gain"), "grad_norm/norm_gain");
  EXPECT_EQ(tensorboard_tag("update_rel.expert"), "update_rel/expert");
  EXPECT_EQ(tensorboard_tag("norm_decay"), "norm_group/decay");
  const auto values = tensorboard_scalars(nlohmann::json{
      {"step", 10}, {"train_loss", 2.5}, {"grad_norm", nullptr}, {"diverged", true}});
  ASSERT_EQ(values.size(), 2u);  // step is the event's step; null is left out
  EXPECT_EQ(values[0].tag, "train/diverged");
  EXPECT_EQ(values[0].value, 1.0f);
  EXPECT_EQ(values[1].tag, "train/loss");
  EXPECT_EQ(values[1].value, 2.5f);
}

TEST(TensorBoardTags, ATagOncePerStep) {
  TensorBoardScalars scalars;
  EXPECT_EQ(scalars.of({{"step", 10}, {"tokens", 640}, {"train_loss", 3.0}}).size(), 2u);
  const auto eval = scalars.of({{"step", 10}, {"tokens", 640}, {"val_loss", 3.1}});
  ASSERT_EQ(eval.size(), 1u);  // tokens was written with the training row
  EXPECT_EQ(eval[0].tag, "val/loss");
  EXPECT_EQ(scalars.of({{"step", 20}, {"tokens", 1280}}).size(), 1u);
}

}  // namespace
}  // namespace wdlab

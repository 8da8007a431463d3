// Model I/O: the safetensors reader/writer and the openunmix-style model directory.
// Hostile-input cases write raw bytes and require a one-line unmix::Error naming the file.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "test_support.h"
#include "unmix/error.h"
#include "unmix/model_dir.h"
#include "unmix/umx_cpu.h"
#include "unmix/safetensors.h"

namespace {

namespace fs = std::filesystem;
namespace st = unmix::safetensors;
using unmix::test::fixture;
using unmix::test::temp_dir;

std::vector<std::byte> to_bytes(std::string_view s) {
  std::vector<std::byte> b(s.size());
  if (!s.empty()) std::memcpy(b.data(), s.data(), s.size());
  return b;
}

// 8-byte length + header text + buffer, with the length given explicitly (it may lie).
std::vector<std::byte> raw_file(std::uint64_t header_len, std::string_view header, std::size_t buffer_bytes) {
  std::vector<std::byte> b(8);
  std::memcpy(b.data(), &header_len, 8);
  const auto h = to_bytes(header);
  b.insert(b.end(), h.begin(), h.end());
  b.resize(b.size() + buffer_bytes, std::byte{0x3f});
  return b;
}
std::vector<std::byte> raw_file(std::string_view header, std::size_t buffer_bytes) {
  return raw_file(header.size(), header, buffer_bytes);
}

void write_bytes(const fs::path& path, const std::vector<std::byte>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}
void write_text(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs f, which must throw unmix::Error; returns its message (empty, with a test failure, otherwise).
template <typename F>
std::string error_of(F&& f) {
  std::string msg;
  EXPECT_THROW(
      {
        try {
          f();
        } catch (const unmix::Error& e) {
          msg = e.what();
          throw;
        }
      },
      unmix::Error);
  EXPECT_EQ(msg.find('\n'), std::string::npos) << "message is not one line: " << msg;
  return msg;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Writes raw bytes to <dir>/bad.safetensors, reads it back and checks the error names the file and `problem`.
void expect_bad_file(const std::vector<std::byte>& bytes, const std::string& problem) {
  const auto path = temp_dir("st-bad") / "bad.safetensors";
  write_bytes(path, bytes);
  const std::string msg = error_of([&] { st::read(path); });
  EXPECT_TRUE(contains(msg, path.string())) << msg;
  EXPECT_TRUE(contains(msg, problem)) << "expected '" << problem << "' in: " << msg;
}

unmix::ModelConfig small_config() {
  unmix::ModelConfig c;
  c.nfft = 64;
  c.nhop = 16;
  c.nb_bins = 33;
  c.max_bin = 20;
  c.nb_channels = 1;
  c.hidden_size = 8;
  c.nb_layers = 2;
  c.sample_rate = 22050;
  c.bandwidth = 8000;
  return c;
}

unmix::UmxWeights random_weights(const unmix::ModelConfig& c, std::uint64_t seed) {
  unmix::UmxWeights w(c);
  w.values = unmix::test::random_vector<float>(w.values.size(), seed);
  w.num_batches_tracked[0] = 3;
  w.num_batches_tracked[1] = 5;
  w.num_batches_tracked[2] = std::int64_t{1} << 40;
  return w;
}

// ---------------------------------------------------------------- safetensors format

TEST(Safetensors, RoundTripAllKinds) {
  const std::vector<float> f = {1.5f, -2.f, 3.25f, 0.f, 1e-30f, -7.f};
  const std::vector<std::int64_t> i = {-1, std::int64_t{1} << 50, 42};
  std::vector<st::Tensor> in;
  in.push_back(st::make_f32("a.weight", {2, 3}, f));
  in.push_back(st::make_i64("counter", {}, std::span(i).first(1)));
  in.push_back(st::make_i64("ints", {3}, i));
  in.push_back(st::make_f32("empty", {0, 4}, {}));
  in.push_back(st::Tensor{"bytes", st::DType::U8, {5}, to_bytes("hello")});
  const std::map<std::string, std::string> meta = {{"format", "pt"}, {"note", "x y"}};

  const auto path = temp_dir("st-rt") / "t.safetensors";
  st::write(path, in, meta);
  const auto out = st::read(path);
  EXPECT_EQ(out.metadata, meta);
  ASSERT_EQ(out.tensors.size(), in.size());
  for (const auto& t : in) {
    const auto* r = out.find(t.name);
    ASSERT_NE(r, nullptr) << t.name;
    EXPECT_EQ(r->dtype, t.dtype) << t.name;
    EXPECT_EQ(r->shape, t.shape) << t.name;
    EXPECT_EQ(r->data, t.data) << t.name;
  }
  EXPECT_EQ(st::as_f32(*out.find("a.weight")), f);
  EXPECT_EQ(st::as_i64(*out.find("ints")), i);
  EXPECT_EQ(st::as_i64(*out.find("counter")), std::vector<std::int64_t>{-1});
  EXPECT_EQ(out.find("missing"), nullptr);
  EXPECT_THROW(st::as_f32(*out.find("ints")), unmix::Error);

  // Header padded so the buffer starts 8-byte aligned; tensors come back in buffer (= write) order.
  const auto bytes = st::serialize(in, meta);
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);
  for (std::size_t k = 0; k < in.size(); ++k) EXPECT_EQ(out.tensors[k].name, in[k].name);
}

TEST(Safetensors, ParsesForeignLayout) {
  // Hand-written header: keys out of buffer order, trailing-space padding, tensors listed before metadata.
  const std::string header =
      R"({"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},)"
      R"("__metadata__":{"k":"v"}}   )";
  auto bytes = raw_file(header, 8);
  const float one = 1.f, two = 2.f;
  std::memcpy(bytes.data() + 8 + header.size(), &one, 4);
  std::memcpy(bytes.data() + 12 + header.size(), &two, 4);
  const auto file = st::parse(bytes, "mem");
  ASSERT_EQ(file.tensors.size(), 2u);
  EXPECT_EQ(file.tensors[0].name, "a");
  EXPECT_EQ(st::as_f32(file.tensors[0]), std::vector<float>{1.f});
  EXPECT_EQ(st::as_f32(file.tensors[1]), std::vector<float>{2.f});
  EXPECT_EQ(file.metadata.at("k"), "v");
}

TEST(Safetensors, WriterRejectsInconsistentTensors) {
  const std::vector<float> f = {1.f, 2.f};
  EXPECT_THROW(st::serialize({st::make_f32("x", {3}, f)}), unmix::Error);
  EXPECT_THROW(st::serialize({st::make_f32("x", {2}, f), st::make_f32("x", {2}, f)}), unmix::Error);
  EXPECT_THROW(st::serialize({st::make_f32("__metadata__", {2}, f)}), unmix::Error);
  EXPECT_THROW(st::serialize({st::make_f32("x", {-1, -2}, f)}), unmix::Error);
}

TEST(SafetensorsHostile, Lengths) {
  expect_bad_file({}, "too short");
  expect_bad_file(to_bytes("abc"), "too short");
  expect_bad_file(raw_file(std::uint64_t{1} << 63, "{}", 0), "limit");
  expect_bad_file(raw_file(st::kMaxHeaderBytes + 1, "{}", 0), "limit");
  expect_bad_file(raw_file(1000, "{}", 10), "exceeds the file size");
  expect_bad_file(raw_file(3, "{}", 0), "exceeds the file size");
  expect_bad_file(raw_file(0, "", 0), "not a JSON object");
}

TEST(SafetensorsHostile, HeaderJson) {
  expect_bad_file(raw_file("{not json", 0), "not valid JSON");
  expect_bad_file(raw_file("[1, 2]", 0), "not a JSON object");
  expect_bad_file(raw_file(" {}", 0), "not a JSON object");
  expect_bad_file(raw_file("{} trailing", 0), "not valid JSON");
  expect_bad_file(raw_file("{\"a\xff\": 1}", 0), "not valid JSON");
  expect_bad_file(raw_file(std::string("{\"a\":\0}", 7), 0), "not valid JSON");
  expect_bad_file(raw_file(R"({"a":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]})", 0), "nested too deeply");
  expect_bad_file(raw_file(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                           R"("x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                           8),
                  "duplicate key 'x'");
  expect_bad_file(raw_file(R"({"__metadata__":[1]})", 0), "__metadata__");
  expect_bad_file(raw_file(R"({"__metadata__":{"a":1}})", 0), "not a string");
  expect_bad_file(raw_file(R"({"x":5})", 0), "not an object");
}

TEST(SafetensorsHostile, TensorEntries) {
  auto entry = [](const std::string& dtype, const std::string& shape, const std::string& offsets) {
    return R"({"t":{"dtype":)" + dtype + R"(,"shape":)" + shape + R"(,"data_offsets":)" + offsets + "}}";
  };
  expect_bad_file(raw_file(entry(R"("F8")", "[1]", "[0,1]"), 1), "unknown dtype 'F8'");
  expect_bad_file(raw_file(entry("4", "[1]", "[0,4]"), 4), "dtype");
  expect_bad_file(raw_file(R"({"t":{"shape":[1],"data_offsets":[0,4]}})", 4), "dtype");
  expect_bad_file(raw_file(entry(R"("F32")", "[-1]", "[0,4]"), 4), "negative");
  expect_bad_file(raw_file(entry(R"("F32")", "[1.5]", "[0,4]"), 4), "integers");
  expect_bad_file(raw_file(entry(R"("F32")", "5", "[0,4]"), 4), "shape");
  expect_bad_file(raw_file(entry(R"("F32")", "[4611686018427387904,4611686018427387904]", "[0,4]"), 4), "overflows");
  expect_bad_file(raw_file(entry(R"("F32")", "[4611686018427387904]", "[0,4]"), 4), "overflows");  // * 4 bytes
  expect_bad_file(raw_file(entry(R"("F32")", "[99999999999999999999]", "[0,4]"), 4), "integers");
  expect_bad_file(raw_file(entry(R"("F32")", "[1]", "[0]"), 4), "data_offsets");
  expect_bad_file(raw_file(entry(R"("F32")", "[1]", "[0,4,8]"), 8), "data_offsets");
  expect_bad_file(raw_file(entry(R"("F32")", "[1]", R"(["0",4])"), 4), "data_offsets");
  expect_bad_file(raw_file(entry(R"("F32")", "[1]", "[-4,0]"), 4), "data_offsets");
  expect_bad_file(raw_file(entry(R"("F32")", "[1]", "[0,4.0]"), 4), "data_offsets");
  expect_bad_file(raw_file(entry(R"("F32")", "[1]", "{}"), 4), "data_offsets");
  expect_bad_file(raw_file(entry(R"("F32")", "[1]", "[8,4]"), 8), "begin 8 > end 4");
  expect_bad_file(raw_file(entry(R"("F32")", "[1]", "[4,8]"), 4), "past the data buffer");
  expect_bad_file(raw_file(entry(R"("F32")", "[1]", "[0,18446744073709551615]"), 4), "past the data buffer");
  expect_bad_file(raw_file(entry(R"("F32")", "[2]", "[0,4]"), 8), "needs 8");
  expect_bad_file(raw_file(entry(R"("F64")", "[1]", "[0,4]"), 8), "needs 8");
  expect_bad_file(raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                           R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                           8),
                  "overlap");
}

TEST(SafetensorsHostile, TruncatedData) {
  const std::vector<float> f(16, 1.f);
  auto bytes = st::serialize({st::make_f32("x", {16}, f)});
  bytes.resize(bytes.size() - 1);
  expect_bad_file(bytes, "past the data buffer");
}

TEST(SafetensorsHostile, MissingFile) {
  const auto path = temp_dir("st-missing") / "nope.safetensors";
  const std::string msg = error_of([&] { st::read(path); });
  EXPECT_TRUE(contains(msg, path.string())) << msg;
  const auto dir = temp_dir("st-dir");
  EXPECT_TRUE(contains(error_of([&] { st::read(dir); }), dir.string()));
}

// ---------------------------------------------------------------- model directory

TEST(ModelDir, SaveLoadRoundTripIsExact) {
  const auto dir = temp_dir("model-rt") / "sub";  // save_model creates it
  const auto w = random_weights(small_config(), 11);
  unmix::save_model(dir, "guitar", w, R"({"best_loss": 0.5, "args": {"lr": 0.001, "nfft": 999}})");
  ASSERT_TRUE(fs::exists(dir / "guitar.safetensors"));
  ASSERT_TRUE(fs::exists(dir / "separator.json"));

  const auto r = unmix::load_model(dir, "guitar");
  EXPECT_EQ(r.config.nfft, 64);
  EXPECT_EQ(r.config.nhop, 16);
  EXPECT_EQ(r.config.nb_bins, 33);
  EXPECT_EQ(r.config.max_bin, 20);
  EXPECT_EQ(r.config.nb_channels, 1);
  EXPECT_EQ(r.config.hidden_size, 8);
  EXPECT_EQ(r.config.nb_layers, 2);
  EXPECT_EQ(r.config.sample_rate, 22050.0);
  EXPECT_EQ(r.config.bandwidth, 8000.0);
  ASSERT_EQ(r.values.size(), w.values.size());
  EXPECT_EQ(std::memcmp(r.values.data(), w.values.data(), w.values.size() * sizeof(float)), 0);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(r.num_batches_tracked[i], w.num_batches_tracked[i]);

  // The json is openunmix-shaped: extras kept, our hyper-parameters win over the extras' args.
  const std::string text = read_text(dir / "guitar.json");
  EXPECT_TRUE(contains(text, "\"best_loss\": 0.5")) << text;
  EXPECT_TRUE(contains(text, "\"lr\": 0.001")) << text;
  EXPECT_TRUE(contains(text, "\"nfft\": 64")) << text;
  EXPECT_TRUE(contains(text, "\"sample_rate\": 22050")) << text;

  // Saving again over an existing model replaces it.
  const auto w2 = random_weights(small_config(), 12);
  unmix::save_model(dir, "guitar", w2);
  EXPECT_EQ(unmix::load_model(dir, "guitar").values, w2.values);
}

// Shipped models are stored in F16 where the values fit: half the file, float32 compute, values within
// F16 rounding, and a tensor F16 cannot hold kept in F32.
TEST(ModelDir, HalfPrecisionStorageLoadsWithinRounding) {
  const auto dir = temp_dir("model-f16");
  unmix::UmxWeights w{unmix::ModelConfig{}};
  w.init_synthetic(6);
  w["input_scale"][3] = 1.0e6f;  // a near-silent bin's 1/std: beyond F16's range
  unmix::save_model(dir, "f32", w);
  unmix::save_model(dir, "f16", w, {}, unmix::WeightStorage::F16);
  const auto f32_bytes = fs::file_size(dir / "f32.safetensors"), f16_bytes = fs::file_size(dir / "f16.safetensors");
  std::printf("  default-size model: F32 %.1f MB, F16 %.1f MB\n", static_cast<double>(f32_bytes) / 1e6, static_cast<double>(f16_bytes) / 1e6);
  EXPECT_LT(f16_bytes, f32_bytes * 51 / 100);
  const auto file = st::read(dir / "f16.safetensors");
  EXPECT_EQ(file.find("fc1.weight")->dtype, st::DType::F16);
  EXPECT_EQ(file.find("input_scale")->dtype, st::DType::F32);
  const auto r = unmix::load_model(dir, "f16");
  ASSERT_EQ(r.values.size(), w.values.size());
  for (std::size_t i = 0; i < w.values.size(); ++i) {
    const float a = w.values[i], b = r.values[i];
    // binary16 keeps 11 significant bits; below 2^-14 it is subnormal with an absolute step of 2^-24
    ASSERT_LE(std::abs(a - b), std::max(std::abs(a) * 0x1p-11f, 0x1p-24f)) << "value " << i;
  }
  EXPECT_EQ(r["input_scale"][3], 1.0e6f);
  // the same model's forward in float32 from either file stays close
  unmix::UmxWeights a = unmix::load_model(dir, "f32"), b = r;
  const int frames = 20;
  std::vector<float> mix(static_cast<std::size_t>(frames) * a.config.output_features());
  for (std::size_t i = 0; i < mix.size(); ++i) mix[i] = static_cast<float>((i * 7919) % 1000) / 500.0f;
  std::vector<float> out_a(mix.size()), out_b(mix.size());
  unmix::UmxCpu(a).forward(mix.data(), frames, 1, unmix::Mode::Eval, out_a.data());
  unmix::UmxCpu(b).forward(mix.data(), frames, 1, unmix::Mode::Eval, out_b.data());
  double num = 0, den = 0;
  for (std::size_t i = 0; i < mix.size(); ++i) num += (out_a[i] - out_b[i]) * (out_a[i] - out_b[i]), den += out_a[i] * out_a[i];
  std::printf("  forward from F16 storage vs F32: relative error %.2e\n", std::sqrt(num / den));
  EXPECT_LT(std::sqrt(num / den), 5e-3);
  EXPECT_THROW(st::make_f16("x", {1}, std::vector<float>{1e5f}), unmix::Error);
}

TEST(ModelDir, DefaultSizedModelRoundTrip) {
  const auto dir = temp_dir("model-default");
  unmix::UmxWeights w{unmix::ModelConfig{}};
  w.init_random(5);
  unmix::save_model(dir, "vocals", w);
  const auto r = unmix::load_model(dir, "vocals");
  EXPECT_EQ(r.config.max_bin, 1487);
  EXPECT_EQ(r.config.nb_bins, 2049);
  EXPECT_EQ(r.values, w.values);
}

// Values printed by `scripts/convert_openunmix.py --make-fixture tests/fixtures/umx_tiny` from the original
// torch state dict (before conversion).
TEST(ModelDir, LoadsConvertedOpenunmixFixture) {
  const auto w = unmix::load_model(fixture("umx_tiny"), "vocals");
  EXPECT_EQ(w.config.nfft, 128);
  EXPECT_EQ(w.config.nhop, 32);
  EXPECT_EQ(w.config.nb_bins, 65);
  EXPECT_EQ(w.config.max_bin, 47);  // bandwidth_to_max_bin(44100, 128, 16000)
  EXPECT_EQ(w.config.max_bin, unmix::bandwidth_to_max_bin(44100, 128, 16000));
  EXPECT_EQ(w.config.hidden_size, 16);
  EXPECT_EQ(w.config.nb_channels, 2);
  EXPECT_EQ(w.config.nb_layers, 3);
  EXPECT_EQ(w.config.sample_rate, 44100.0);
  EXPECT_EQ(w.config.bandwidth, 16000.0);

  struct Ref {
    const char* name;
    std::size_t index;
    float value;
  };
  const Ref refs[] = {
      {"input_mean", 0, 0.350262254f},
      {"fc1.weight", 5, 0.323676616f},
      {"lstm.weight_hh_l2_reverse", 255, 0.0392235667f},
      {"bn3.running_var", 7, 1.26835072f},
      {"output_mean", 64, -0.19201608f},
      {"fc3.weight", 100, -0.333294392f},
  };
  for (const auto& r : refs) EXPECT_EQ(w[r.name][r.index], r.value) << r.name << "[" << r.index << "]";
  EXPECT_EQ(w.num_batches_tracked[0], 1063);
  EXPECT_EQ(w.num_batches_tracked[1], 1273);
  EXPECT_EQ(w.num_batches_tracked[2], 1315);
  auto sum = [&](const char* name) {
    double s = 0;
    for (float v : w[name]) s += v;
    return s;
  };
  EXPECT_NEAR(sum("fc1.weight"), 22.909563461740618, 1e-9);
  EXPECT_NEAR(sum("lstm.weight_ih_l1"), 4.602537544851657, 1e-9);
}

class ModelDirHostile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = temp_dir("model-bad");
    unmix::save_model(dir_, "vocals", random_weights(small_config(), 3));
    file_ = st::read(weights());
  }
  fs::path weights() const { return dir_ / "vocals.safetensors"; }
  fs::path json() const { return dir_ / "vocals.json"; }
  st::Tensor& tensor(const std::string& name) {
    for (auto& t : file_.tensors)
      if (t.name == name) return t;
    throw std::runtime_error("test bug: no tensor " + name);
  }
  // Rewritten as another program (an openunmix export) would: without our checksum, so each case tests
  // the check it is about (the checksum has its own tests in test_reliability).
  void rewrite() {
    file_.metadata.erase(std::string(st::kChecksumKey));
    st::write(weights(), file_.tensors, file_.metadata);
  }
  // load_model must fail naming `file` and mentioning `problem`.
  void expect_load_error(const fs::path& file, const std::string& problem) {
    const std::string msg = error_of([&] { unmix::load_model(dir_, "vocals"); });
    EXPECT_TRUE(contains(msg, file.string())) << msg;
    EXPECT_TRUE(contains(msg, problem)) << "expected '" << problem << "' in: " << msg;
  }
  fs::path dir_;
  st::File file_;
};

TEST_F(ModelDirHostile, WrongDtype) {
  auto& t = tensor("fc1.weight");
  t.dtype = st::DType::F64;
  t.shape.back() /= 2;  // keep the byte count consistent so only the dtype is wrong
  rewrite();
  expect_load_error(weights(), "tensor 'fc1.weight' has dtype F64, expected F32 or F16");
}

TEST_F(ModelDirHostile, WrongShape) {
  auto& t = tensor("fc2.weight");
  std::swap(t.shape[0], t.shape[1]);
  rewrite();
  expect_load_error(weights(), "tensor 'fc2.weight' has shape [16, 8], expected [8, 16]");
}

TEST_F(ModelDirHostile, MissingTensor) {
  std::erase_if(file_.tensors, [](const st::Tensor& t) { return t.name == "lstm.bias_hh_l1_reverse"; });
  rewrite();
  expect_load_error(weights(), "missing tensor 'lstm.bias_hh_l1_reverse'");
}

TEST_F(ModelDirHostile, MissingInputMean) {
  std::erase_if(file_.tensors, [](const st::Tensor& t) { return t.name == "input_mean"; });
  rewrite();
  expect_load_error(weights(), "missing tensor 'input_mean'");
}

TEST_F(ModelDirHostile, InputMeanLongerThanSpectrum) {
  const std::vector<float> v(40, 0.f);  // nb_bins is 33
  tensor("input_mean") = st::make_f32("input_mean", {40}, v);
  rewrite();
  expect_load_error(weights(), "input_mean");
}

TEST_F(ModelDirHostile, ExtraTensor) {
  // An extra LSTM layer: openunmix's strict=False would ignore it silently; we refuse.
  const std::vector<float> v(4, 0.f);
  file_.tensors.push_back(st::make_f32("lstm.bias_ih_l2", {4}, v));
  rewrite();
  expect_load_error(weights(), "unexpected tensor 'lstm.bias_ih_l2'");
}

TEST_F(ModelDirHostile, BadBatchCounter) {
  const float one = 1.f;
  tensor("bn2.num_batches_tracked") = st::make_f32("bn2.num_batches_tracked", {}, std::span(&one, 1));
  rewrite();
  expect_load_error(weights(), "tensor 'bn2.num_batches_tracked' has dtype F32, expected I64");
  const std::int64_t n[2] = {1, 2};
  tensor("bn2.num_batches_tracked") = st::make_i64("bn2.num_batches_tracked", {2}, n);
  rewrite();
  expect_load_error(weights(), "expected [] (scalar)");
}

TEST_F(ModelDirHostile, AbsentBatchCountersDefaultToZero) {
  std::erase_if(file_.tensors, [](const st::Tensor& t) { return t.name.ends_with("num_batches_tracked"); });
  rewrite();
  const auto w = unmix::load_model(dir_, "vocals");
  for (auto n : w.num_batches_tracked) EXPECT_EQ(n, 0);
}

TEST_F(ModelDirHostile, CorruptWeightsFile) {
  auto bytes = st::serialize(file_.tensors);
  bytes.resize(bytes.size() / 2);
  write_bytes(weights(), bytes);
  expect_load_error(weights(), "past the data buffer");
  fs::remove(weights());
  expect_load_error(weights(), "no such file");
}

TEST_F(ModelDirHostile, JsonProblems) {
  const std::string good = read_text(json());
  write_text(json(), R"({"args": {"nhop": 16, "hidden_size": 8, "nb_channels": 1, "nb_layers": 2}})");
  expect_load_error(json(), "missing field 'args.nfft'");
  write_text(json(), R"({"args": {"nfft": "64", "nhop": 16, "hidden_size": 8, "nb_channels": 1}})");
  expect_load_error(json(), "'args.nfft' must be an integer");
  write_text(json(), R"({"args": {"nfft": 64.5, "nhop": 16, "hidden_size": 8, "nb_channels": 1}})");
  expect_load_error(json(), "'args.nfft' must be an integer");
  write_text(json(), R"({"args": {"nfft": 64, "nhop": 16, "hidden_size": 8, "nb_channels": 3, "nb_layers": 2}})");
  expect_load_error(json(), "nb_channels");
  write_text(json(), R"({"args": {"nfft": 64, "nhop": 16, "hidden_size": 8, "nb_channels": 1,
                         "nb_layers": 2, "unidirectional": true}})");
  expect_load_error(json(), "unidirectional");
  // Absurd sizes must fail fast, before any table or buffer is built for them.
  write_text(json(), R"({"args": {"nfft": 64, "nhop": 16, "hidden_size": 8, "nb_channels": 1, "nb_layers": 2000000000}})");
  expect_load_error(json(), "'args.nb_layers' out of range");
  write_text(json(), R"({"args": {"nfft": 64, "nhop": 16, "hidden_size": 60000, "nb_channels": 1, "nb_layers": 2}})");
  expect_load_error(weights(), "has shape");
  write_text(json(), R"({"args": {"nfft": 64, "nhop": 16, "hidden_size": 8, "nb_channels": 1, "nb_layers": 99999999999}})");
  expect_load_error(json(), "'args.nb_layers' out of range");
  write_text(json(), R"({"argz": {}})");
  expect_load_error(json(), "args");
  write_text(json(), "[1, 2]");
  expect_load_error(json(), "not a JSON object");
  write_text(json(), "{\"args\": {");
  expect_load_error(json(), "not valid JSON");
  write_text(json(), "");
  expect_load_error(json(), "not valid JSON");
  fs::remove(json());
  expect_load_error(json(), "no such file");
  write_text(json(), good);
  EXPECT_NO_THROW(unmix::load_model(dir_, "vocals"));
}

TEST_F(ModelDirHostile, SampleRateFromSeparatorJson) {
  // openunmix's train.py keeps the rate only in separator.json.
  write_text(json(), R"({"args": {"nfft": 64, "nhop": 16, "hidden_size": 8, "nb_channels": 1, "nb_layers": 2}})");
  write_text(dir_ / "separator.json", R"({"nfft": 64, "nhop": 16, "nb_channels": 1, "sample_rate": 16000})");
  EXPECT_EQ(unmix::load_model(dir_, "vocals").config.sample_rate, 16000.0);
  fs::remove(dir_ / "separator.json");
  EXPECT_EQ(unmix::load_model(dir_, "vocals").config.sample_rate, 44100.0);
}

TEST(ModelDir, NonexistentDirectory) {
  const auto dir = temp_dir("model-none") / "does-not-exist";
  const std::string msg = error_of([&] { unmix::load_model(dir, "vocals"); });
  EXPECT_TRUE(contains(msg, (dir / "vocals.json").string())) << msg;
  EXPECT_THROW(unmix::load_model(dir, ""), unmix::Error);
  EXPECT_THROW(unmix::load_model(dir, "../x"), unmix::Error);
}

// ---------------------------------------------------------------- fuzzing

// Random byte flips (biased to the header and JSON-significant characters), truncations and
// length-field rewrites of a valid model file: every read must succeed or throw unmix::Error.
TEST(SafetensorsFuzz, MutatedFilesNeverCrash) {
  const auto dir = temp_dir("fuzz");
  unmix::save_model(dir, "vocals", random_weights(small_config(), 9));
  const auto path = dir / "vocals.safetensors";
  std::vector<std::byte> original;
  {
    std::ifstream in(path, std::ios::binary);
    std::vector<char> c{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    original.resize(c.size());
    std::memcpy(original.data(), c.data(), c.size());
  }
  std::uint64_t header_len = 0;
  std::memcpy(&header_len, original.data(), 8);
  const std::string significant = "{}[]\",:-0123456789e. \\";

  std::mt19937_64 rng(2024);
  auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
  int parsed = 0, rejected = 0;
  for (int iter = 0; iter < 500; ++iter) {
    auto bytes = original;
    switch (iter % 4) {
      case 0:  // truncate
        bytes.resize(pick(bytes.size()));
        break;
      case 1:  // flip bits anywhere
        for (int k = 0, n = 1 + static_cast<int>(pick(8)); k < n; ++k)
          bytes[pick(bytes.size())] ^= static_cast<std::byte>(1u << pick(8));
        break;
      case 2:  // overwrite header characters with JSON syntax
        for (int k = 0, n = 1 + static_cast<int>(pick(4)); k < n; ++k)
          bytes[8 + pick(static_cast<std::size_t>(header_len))] = static_cast<std::byte>(significant[pick(significant.size())]);
        break;
      case 3: {  // lie about the header length
        std::uint64_t len = header_len + pick(64) - 32;
        if (iter % 8 == 3) len = rng();
        std::memcpy(bytes.data(), &len, 8);
        break;
      }
    }
    try {
      (void)st::parse(bytes, "fuzz");
      ++parsed;
    } catch (const unmix::Error& e) {
      ++rejected;
      EXPECT_EQ(std::string(e.what()).rfind("fuzz: ", 0), 0u) << e.what();
    }
    // Through the model loader too: a parsable file may still be the wrong model.
    write_bytes(path, bytes);
    try {
      (void)unmix::load_model(dir, "vocals");
    } catch (const unmix::Error&) {
    }
  }
  EXPECT_GT(rejected, 0);
  RecordProperty("parsed", parsed);
  RecordProperty("rejected", rejected);
}

}  // namespace

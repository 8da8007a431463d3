#pragma once
// LV2 audio plugins (guitarix amplifiers and cabinets, LSP dynamics and equalizers, x42 ...) hosted
// offline through lilv, so rendered stems can go through real effect chains. lilv stays out of this
// header: everything here is plain C++.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "unmix/audio.h"

namespace unmix::fx {

// The installed LV2 plugins, loaded once per process (lilv_world_load_all: LV2_PATH, else ~/.lv2,
// /usr/local/lib/lv2, /usr/lib/lv2). All lilv calls of the process go through its one lock: lilv's world
// is not thread-safe, and it reads a plugin's data files lazily on first use. The same lock serializes
// plugins' own setup (instantiate, activate, worker jobs, cleanup), which does FFT planning and other
// work that is not always thread-safe; run() is real-time safe by the LV2 contract and runs unlocked.
class Lv2World {
 public:
  Lv2World();
  ~Lv2World();
  Lv2World(const Lv2World&) = delete;
  Lv2World& operator=(const Lv2World&) = delete;

  bool has(std::string_view uri) const;
  std::vector<std::string> uris() const;  // every installed plugin, sorted
  // Adds the plugins of one more bundle (a directory with a manifest.ttl), e.g. one outside the LV2 path.
  // A directory without a manifest is an Error naming it.
  void load_bundle(const std::filesystem::path& dir);

  struct Impl;
  Impl& impl() const { return *impl_; }  // for the host in lv2_host.cpp

 private:
  std::unique_ptr<Impl> impl_;
};

// The process-wide world, loaded on first use and never unloaded (plugin instances in static storage may
// still be freed after main returns).
Lv2World& lv2_world();

// The Debian package that installs plugins with this URI ("guitarix-lv2", "lsp-plugins-lv2",
// "x42-plugins", "calf-plugins", "zam-plugins"), or "" when the prefix is not known.
std::string_view lv2_package_for(std::string_view uri);

// A control input as the plugin declares it. min/max are NaN when the plugin does not give them.
struct Lv2Control {
  std::string symbol;
  std::string name;
  float min = 0;
  float max = 0;
  float default_value = 0;  // the plugin's lv2:default, else min, else 0
  bool integer = false;
  bool toggled = false;      // 0 or 1
  bool enumeration = false;  // one of scale_points
  std::vector<std::pair<float, std::string>> scale_points;  // sorted by value
};

// One plugin instance at one sample rate, processing blocks of exactly block() frames. The block length is
// announced to the plugin as fixed: guitarix's convolvers pad a shorter block with zeros and so would break
// the stream, and one length for every call keeps the output independent of how a caller splits its audio.
//
// Provided features: urid:map and urid:unmap (one thread-safe table for the process), options (buf-size
// min/max/nominalBlockLength = block, sequenceSize, param:sampleRate), buf-size bounded/fixedBlockLength
// (and powerOf2BlockLength when block is a power of 2), worker:schedule, log:log. Worker jobs run
// synchronously in the calling thread right after the plugin's run(), and their responses are delivered
// before process() returns, so the output never depends on thread timing. Log messages are kept in
// messages(), nothing is printed.
// Ports: audio and control (inputs start at their defaults), atom sequences (an input gets an empty sequence
// every block, an output a buffer of its declared rsz:minimumSize, at least 64 KiB, whose contents are
// dropped). Ports of other types (CV, the old event port) are left unconnected when lv2:connectionOptional.
// A plugin that is not installed, needs a feature or option not listed here, or has another port type is
// refused with a one-line Error naming its URI and the problem.
// An instance is used by one thread at a time; different instances may run in different threads at once.
// guitarix prints "mlock ..." and "using block size" lines to stdout when it instantiates and cleans up;
// a plugin's own printf cannot be caught.
class Lv2Plugin {
 public:
  static constexpr int kDefaultBlock = 256;

  Lv2Plugin(std::string_view uri, double sample_rate, int block = kDefaultBlock);
  ~Lv2Plugin();
  Lv2Plugin(Lv2Plugin&&) noexcept;
  Lv2Plugin& operator=(Lv2Plugin&&) noexcept;

  const std::string& uri() const;
  const std::string& name() const;
  double sample_rate() const;
  int block() const;
  int audio_inputs() const;
  int audio_outputs() const;

  const std::vector<Lv2Control>& controls() const;  // control inputs, in port order
  // Error naming the plugin and the symbol when there is no such control input.
  const Lv2Control& control(std::string_view symbol) const;
  // Sets a control input. A value outside [min, max], not an integer for an integer port, not 0 or 1 for a
  // toggle, not a scale point of an enumeration, or not finite is an Error naming the symbol and its range:
  // values are never clamped silently.
  void set(std::string_view symbol, float value);
  // A control input's value, or a control output's value after the last process().
  float get(std::string_view symbol) const;

  bool reports_latency() const;  // has an lv2:reportsLatency output
  int latency() const;           // frames of delay as of the last process(); 0 when it reports none

  // Processes block() frames: in[audio_inputs()] and out[audio_outputs()] each point at block() floats
  // (the input is copied, never written). Runs with flush-to-zero and denormals-are-zero set and restores
  // the caller's floating-point mode afterwards: an operation on denormals (decaying filter and reverb
  // tails) can take 100 times as long on x86, and one fixed mode makes the output bits the same in every thread (some
  // guitarix plugins, gx_cabinet and gx_zita_rev1 among them, set FTZ in instantiate and leave it set in
  // whichever thread that was; the host calls every plugin function under the same mode and restores it).
  void process(const float* const* in, float* const* out);

  // deactivate + activate, as a host does between songs. It does not bring back a fresh instance's output
  // for any plugin in docs/lv2-plugins.md (state survives, or the fresh instance's start-up differs): for
  // output that depends on the input alone, use a fresh instance.
  void reset();

  // Warnings and errors the plugin logged through log:log, one per line.
  std::string messages() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One plugin applied to a mono or stereo Audio in place, with as many instances as the channel layout needs.
// For a plugin with I audio inputs and O outputs (1 or 2 each) on audio with C channels:
//   I = O = 1, C = 2: one instance per channel;
//   otherwise one instance; its inputs get the audio's channels when I = C, the channel mean when I = 1 < C,
//   the mono channel twice when I = 2 > C; the audio's channels get its outputs when O = C, their mean when
//   O = 2 > C (stereo width is folded back to mono), the mono output twice when O = 1 < C.
// The channel count and the length of the audio never change.
class Lv2Effect {
 public:
  // Silence run through every instance before the audio, so parameter smoothing and deferred setup are
  // finished when the audio starts: x42 fil4 glides from its defaults to set gains for between 0.25 and
  // 0.5 s, guitarix loads a chosen cabinet through a worker job after the first block.
  static constexpr double kSettleSeconds = 0.5;

  Lv2Effect(std::string_view uri, double sample_rate, int channels, int block = Lv2Plugin::kDefaultBlock);

  int channels() const { return channels_; }
  int instances() const { return static_cast<int>(plugins_.size()); }
  const Lv2Plugin& plugin(int instance = 0) const { return plugins_.at(static_cast<std::size_t>(instance)); }
  void set(std::string_view symbol, float value);  // on every instance; Error as Lv2Plugin::set

  // Processes the audio in place: settle, then the audio and latency() frames of silence in whole blocks,
  // and the output shifted back by the reported latency so that it lines up with the input sample for
  // sample. The output keeps the input's length: a reverb or delay tail past the end is cut (pad the stem
  // with silence first to keep it). The state carries over from one run() to the next; use a fresh effect
  // per stem for output that depends on that stem alone. Audio of another rate or channel count, and a
  // latency that changes while the audio runs, are Errors.
  void run(Audio& audio);

  int latency() const;  // as reported after the last run(); 0 before

 private:
  int channels_;
  std::vector<Lv2Plugin> plugins_;
};

}  // namespace unmix::fx

// One LV2 plugin on a mono or stereo Audio: instances per channel layout, settling, whole blocks and
// latency compensation.
#include <algorithm>
#include <cmath>

#include "unmix/error.h"
#include "unmix/fx/lv2.h"

namespace unmix::fx {

Lv2Effect::Lv2Effect(std::string_view uri, double sample_rate, int channels, int block) : channels_(channels) {
  if (channels != 1 && channels != 2)
    fail("LV2 plugin " + std::string(uri), "effects take mono or stereo audio, not " + std::to_string(channels) + " channels");
  plugins_.emplace_back(uri, sample_rate, block);
  const int inputs = plugins_.front().audio_inputs();
  const int outputs = plugins_.front().audio_outputs();
  if (inputs < 1 || inputs > 2 || outputs < 1 || outputs > 2)
    fail("LV2 plugin " + std::string(uri), "has " + std::to_string(inputs) + " audio inputs and " + std::to_string(outputs) +
                                               " outputs; an effect needs 1 or 2 of each");
  if (inputs == 1 && outputs == 1 && channels == 2) plugins_.emplace_back(uri, sample_rate, block);
}

void Lv2Effect::set(std::string_view symbol, float value) {
  for (Lv2Plugin& p : plugins_) p.set(symbol, value);
}

int Lv2Effect::latency() const { return plugins_.front().latency(); }

void Lv2Effect::run(Audio& audio) {
  const Lv2Plugin& first = plugins_.front();
  const std::string where = "LV2 plugin " + first.uri();
  if (audio.channels != channels_)
    fail(where, "effect made for " + std::to_string(channels_) + " channels got audio with " + std::to_string(audio.channels));
  if (audio.sample_rate != first.sample_rate())
    fail(where, "effect made for " + std::to_string(std::lround(first.sample_rate())) + " Hz got audio at " +
                    std::to_string(audio.sample_rate) + " Hz");
  if (audio.frames < 0 || audio.samples.size() != static_cast<std::size_t>(audio.frames) * static_cast<std::size_t>(channels_))
    fail(where, "audio buffer does not match its channels and frames");

  const std::int64_t frames = audio.frames;
  const auto block = static_cast<std::size_t>(first.block());
  const int inputs = first.audio_inputs();
  const int outputs = first.audio_outputs();
  const bool per_channel = plugins_.size() > 1;
  std::vector<std::vector<float>> in(static_cast<std::size_t>(inputs), std::vector<float>(block));
  std::vector<std::vector<float>> out(static_cast<std::size_t>(outputs), std::vector<float>(block));
  std::vector<const float*> in_ptr;
  std::vector<float*> out_ptr;
  for (auto& v : in) in_ptr.push_back(v.data());
  for (auto& v : out) out_ptr.push_back(v.data());
  const auto settle_blocks = static_cast<std::int64_t>(std::ceil(kSettleSeconds * first.sample_rate() / static_cast<double>(block)));

  for (std::size_t k = 0; k < plugins_.size(); ++k) {
    Lv2Plugin& plugin = plugins_[k];
    // The value input port j of this instance reads at frame t (see the header for the mapping).
    const auto source = [&](int j, std::int64_t t) -> float {
      if (t >= frames) return 0.0f;
      if (per_channel) return audio.channel(static_cast<int>(k))[t];
      if (inputs == channels_) return audio.channel(j)[t];
      if (inputs == 1) return 0.5f * (audio.channel(0)[t] + audio.channel(1)[t]);
      return audio.channel(0)[t];
    };
    for (auto& v : in) std::fill(v.begin(), v.end(), 0.0f);
    for (std::int64_t b = 0; b < settle_blocks; ++b) plugin.process(in_ptr.data(), out_ptr.data());

    // Output frame i of block b belongs to input frame b * block + i - latency. Writing in place is safe:
    // every frame written lies before the end of the block just read.
    const std::int64_t latency = plugin.latency();
    const std::int64_t blocks = (frames + latency + static_cast<std::int64_t>(block) - 1) / static_cast<std::int64_t>(block);
    for (std::int64_t b = 0; b < blocks; ++b) {
      const std::int64_t start = b * static_cast<std::int64_t>(block);
      for (int j = 0; j < inputs; ++j)
        for (std::size_t i = 0; i < block; ++i) in[static_cast<std::size_t>(j)][i] = source(j, start + static_cast<std::int64_t>(i));
      plugin.process(in_ptr.data(), out_ptr.data());
      if (plugin.latency() != latency)
        fail(where, "reported latency changed from " + std::to_string(latency) + " to " + std::to_string(plugin.latency()) +
                        " frames during the audio");
      for (std::size_t i = 0; i < block; ++i) {
        const std::int64_t t = start + static_cast<std::int64_t>(i) - latency;
        if (t < 0 || t >= frames) continue;
        if (per_channel) {
          audio.channel(static_cast<int>(k))[t] = out[0][i];
        } else if (outputs == channels_) {
          for (int c = 0; c < channels_; ++c) audio.channel(c)[t] = out[static_cast<std::size_t>(c)][i];
        } else if (outputs == 2) {
          audio.channel(0)[t] = 0.5f * (out[0][i] + out[1][i]);
        } else {
          for (int c = 0; c < channels_; ++c) audio.channel(c)[t] = out[0][i];
        }
      }
    }
  }
}

}  // namespace unmix::fx

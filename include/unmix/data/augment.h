#pragma once
// Input augmentations: signal transforms that make a training item look like what users feed a separator
// (docs/data.md, "Augmentations for what users feed in"). The loader draws which ones an item gets and with
// what parameters (ItemAugmentation); the functions here only apply them.
//
//   mono fold   (L+R)/2 on both channels, mix and target alike (a mono recording's guitar is mono)
//   EQ tilt     a constant dB/octave spectral tilt, mix and target alike (a mastering or playback
//               difference: the target is what the guitar sounds like in that mix)
//   resample    mix only: a round trip through another rate (48 kHz material), same length, time-aligned
//   codec       mix only: MP3 / Vorbis / Opus encode and decode in memory, same length, time-aligned
//
// Audio is planar float: channel c of an item occupies planar[c * stride, c * stride + frames).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace unmix::data {

enum class Codec : std::uint8_t { None, Mp3, Vorbis, Opus };
std::string_view codec_name(Codec codec);  // "none", "mp3", "vorbis", "opus"
// "mp3,vorbis,opus" (any non-empty subset, in any order, no repeats) -> codecs; throws unmix::Error
// "<where>: <problem>" naming the bad entry.
std::vector<Codec> parse_codecs(std::string_view list, const std::string& where);
std::string codecs_text(const std::vector<Codec>& codecs);  // back to "mp3,vorbis,opus"
// "48000" or "48000,32000" -> rates; throws unmix::Error "<where>: <problem>".
std::vector<int> parse_rates(std::string_view list, const std::string& where);
std::string rates_text(const std::vector<int>& rates);

// What one item gets (recorded in its ExcerptInfo). Applied in this order, the order of a user's chain:
// a mono source, a mastering tilt, a rate conversion, then lossy distribution.
struct ItemAugmentation {
  bool mono = false;
  float tilt_db_per_octave = 0.f;  // 0: none
  int resample_rate = 0;           // 0: none; otherwise the intermediate rate of the round trip
  Codec codec = Codec::None;
  int codec_kbps = 0;              // nominal bitrate of the whole stream
  bool any() const { return mono || tilt_db_per_octave != 0.f || resample_rate != 0 || codec != Codec::None; }
};

// Applies `a` to one item: mix and target are [channels][stride] planar buffers of `frames` frames each.
void apply_augmentation(const ItemAugmentation& a, float* mix, float* target, int channels, std::int64_t stride,
                        std::int64_t frames, int sample_rate);

// (L+R)/2 on both channels; mono audio is left as it is.
void fold_to_mono(float* planar, int channels, std::int64_t stride, std::int64_t frames);

// Spectral tilt of `db_per_octave` (> 0: brighter) around 1 kHz, within about +-1 dB of the straight line from
// 100 Hz to 10 kHz for slopes up to 3 dB/octave: five first-order shelves two octaves apart (62.5 Hz ... 16 kHz;
// those above 0.4 x the sample rate are left out). Each channel is filtered from rest.
void apply_tilt(float* planar, int channels, std::int64_t stride, std::int64_t frames, int sample_rate,
                double db_per_octave);
constexpr double kMaxTiltDbPerOctave = 6.0;  // beyond this the shelves overlap and the slope is no longer even

// Round trip sample_rate -> via_rate -> sample_rate with a windowed-sinc polyphase filter (passband to 0.9 and
// stopband from 1.0 of the lower Nyquist, 80 dB): same length, time-aligned (output frame k at input time
// k * from / to, zero beyond the ends, as unmix::resample).
void resample_round_trip(float* planar, int channels, std::int64_t stride, std::int64_t frames, int sample_rate,
                         int via_rate);
// Empty when resample_round_trip(…, sample_rate, via_rate) can run, else the reason (a rate pair whose reduced
// ratio needs more than 1024 filter phases, a rate out of range).
std::string round_trip_problem(int sample_rate, int via_rate);

// Encodes the audio with `codec` at about `kbps` into memory (libsndfile's encoders through its virtual I/O:
// MP3 and Vorbis at the VBR quality whose nominal 44.1 kHz stereo bitrate is kbps, Opus at kbps) and decodes it
// back in place: same length, time-aligned (the decoders drop the encoder delay: LAME's info header, Opus's
// pre-skip; any other decoded length throws). Audio peaking above 1 is scaled into range for the encoder and
// back afterwards. Opus codes at 8/12/16/24/48 kHz: other rates go to 48 kHz and back through
// resample_round_trip's filter.
void codec_round_trip(float* planar, int channels, std::int64_t stride, std::int64_t frames, int sample_rate,
                      Codec codec, int kbps);
// Empty when the codec can run at this rate, else the reason.
std::string codec_problem(Codec codec, int sample_rate);
constexpr int kMinCodecKbps = 8, kMaxCodecKbps = 320;

}  // namespace unmix::data

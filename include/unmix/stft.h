#pragma once
// STFT / ISTFT with torch.stft / torch.istft conventions as openunmix uses them: periodic Hann window of
// length n_fft, hop n_hop, onesided (n_fft / 2 + 1 bins), unnormalized forward, inverse by windowed
// overlap-add divided by the summed squared window.
//   center = false: frames start at sample 0 (openunmix's training encoder).
//   center = true : the signal is reflect-padded by n_fft / 2 on both sides first (openunmix's Separator).
// FFTs are pocketfft's (third_party/pocketfft, BSD, numpy's and scipy's FFT): batched real transforms over
// many frames at once, about 2.5x faster than the KISS FFT bundled with Eigen for 4096 points, any length;
// FFTW would be faster still but is GPL. (The STFT is a quarter of a CPU training step.)
#include <complex>
#include <cstdint>
#include <vector>

namespace unmix {

// Complex spectrogram, layout [channels][frames][bins] (each frame's bins contiguous).
struct ComplexSpectrogram {
  int channels = 0, frames = 0, bins = 0;
  std::vector<std::complex<float>> data;
  std::complex<float>* frame(int c, int t) {
    return data.data() + (static_cast<std::size_t>(c) * frames + t) * bins;
  }
  const std::complex<float>* frame(int c, int t) const {
    return data.data() + (static_cast<std::size_t>(c) * frames + t) * bins;
  }
};

class Stft {
 public:
  explicit Stft(int n_fft = 4096, int n_hop = 1024);
  ~Stft();
  Stft(const Stft&) = delete;
  Stft& operator=(const Stft&) = delete;

  int n_fft() const { return n_fft_; }
  int n_hop() const { return n_hop_; }
  int bins() const { return n_fft_ / 2 + 1; }
  const std::vector<float>& window() const { return window_; }

  // Frames torch.stft produces for a signal of `length` samples (0 when too short).
  int frames(std::int64_t length, bool center) const;
  // Signal length torch.istft returns without `length=`.
  std::int64_t default_length(int frames, bool center) const;

  // planar: channels blocks of `length` samples. Throws unmix::Error when the signal is too short
  // (center=false: length < n_fft; center=true: reflect padding needs length > n_fft / 2).
  ComplexSpectrogram forward(const float* planar, int channels, std::int64_t length, bool center) const;
  // Writes channels * length samples (planar). Where the window envelope is below 1e-11 (only possible at
  // the ends with center=false, where torch.istft refuses), the output is 0.
  void inverse(const ComplexSpectrogram& spec, bool center, std::int64_t length, float* planar) const;

 private:
  int n_fft_, n_hop_;
  std::vector<float> window_;
};

// |X| per bin, same layout as the spectrogram: [channels][frames][bins].
std::vector<float> magnitude(const ComplexSpectrogram& spec);

// Magnitudes of a [channels][frames][bins] spectrogram into the model's [frames][batch=1][channels][bins]
// layout (batch_index selects the slot when several signals share one batch).
void magnitude_frame_major(const ComplexSpectrogram& spec, int batch, int batch_index, float* tbcf);

}  // namespace unmix

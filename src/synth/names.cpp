// Artist names, song titles and MedleyDB-style track ids. Each is a permutation of a word-pair space
// keyed by the seed, so names never repeat within a corpus until the space is used up (then a number
// is appended).
#include <cctype>
#include <numeric>
#include <string>

#include "unmix/synth/random.h"
#include "unmix/synth/song_plan.h"

namespace unmix::synth {

namespace {

constexpr const char* kBandWords[] = {
    "Copper", "Velvet", "Hollow",   "Silver", "Paper",    "Electric", "Golden",  "Quiet",   "Wild",   "Crimson",
    "Midnight", "Northern", "Lucky", "Broken", "Amber",   "Violet",   "Neon",    "Rusty",   "Gentle", "Distant",
    "Lonesome", "Rolling", "Static", "Winter", "Summer",  "Lazy",     "Restless", "Hidden", "Faded",  "Burning",
    "Salty",  "Dusty",  "Bright",   "Little", "Marble",   "Cosmic",   "Sleepy",  "Open",    "Twin",   "Stray"};
constexpr const char* kBandNouns[] = {
    "Lanterns", "Harbors", "Foxes",   "Rivers",  "Pilots",  "Engines", "Sparrows", "Mirrors",  "Tigers",  "Satellites",
    "Lines",    "Owls",    "Canyons", "Ghosts",  "Wolves",  "Anchors", "Rockets",  "Gardens",  "Shadows", "Kites",
    "Comets",   "Bridges", "Tides",   "Horses",  "Orchards", "Strangers", "Radios", "Saints",  "Wires",   "Valleys",
    "Pines",    "Echoes",  "Crowns",  "Ravens",  "Drifters", "Islands", "Signals", "Wheels",   "Heroes",  "Bees"};
constexpr const char* kFirstNames[] = {"Ada",  "Ben",   "Clara", "Dev",   "Elena", "Felix", "Grace", "Hugo",
                                       "Iris", "Jonas", "Kira",  "Leo",   "Maya",  "Nico",  "Olive", "Paul",
                                       "Quinn", "Rosa", "Sam",   "Tara",  "Umar",  "Vera",  "Will",  "Yara",
                                       "Zoe",  "Alma",  "Bruno", "Cleo",  "Dario", "Esme",  "Finn",  "Gus"};
constexpr const char* kLastNames[] = {"Abbott", "Brooks",    "Castillo", "Dalton", "Ellis",  "Fischer", "Gray",
                                      "Hart",   "Ibarra",    "Jensen",   "Keller", "Lindqvist", "Moreau", "Novak",
                                      "Okafor", "Park",      "Quarles",  "Reyes",  "Sato",   "Tanaka",  "Underwood",
                                      "Varga",  "Walsh",     "Xu",       "Young",  "Zamora", "Becker",  "Costa",
                                      "Duarte", "Haas",      "Morrow",   "Price"};
constexpr const char* kTitleWords[] = {
    "Midnight", "Paper",  "Summer", "Golden",   "Blue",    "Last",     "Quiet",   "Northern", "Silver",  "Broken",
    "Slow",     "Electric", "Open", "Hollow",   "Burning", "Falling",  "Distant", "Empty",    "Sweet",   "Wild",
    "Lonely",   "Early",  "Long",   "Secret",   "Little",  "Neon",     "Coming",  "Velvet",   "Frozen",  "Morning",
    "Restless", "Endless", "Borrowed", "Lucky", "Sunday",  "Painted",  "Gentle",  "Crooked",  "Silent",  "Highway"};
constexpr const char* kTitleNouns[] = {
    "River",   "Moon",    "Light",   "Road",    "Heart",   "Train",    "Window",  "Fire",     "Rain",    "Meadow",
    "Garden",  "Letter",  "Ocean",   "Season",  "Dance",   "Dream",    "Sky",     "Station",  "Avenue",  "Shore",
    "Promise", "Echo",    "Mountain", "Harbor", "Song",    "Silence",  "Stranger", "Country", "Lantern", "Hour",
    "Parade",  "Horizon", "Weather", "Coast",   "Town",    "Engine",   "Kingdom", "Feather",  "Signal",  "Blues"};

template <typename T, std::size_t N>
constexpr std::uint64_t count(const T (&)[N]) {
  return N;
}

constexpr std::uint64_t kArtistTag = 0xa7715700, kTitleTag = 0x717e0000, kRunTag = 0x5e0a7715;

// Position `n` of a seed-keyed permutation of [0, size): an affine map with a stride coprime to size.
std::uint64_t permuted(std::uint64_t seed, std::uint64_t tag, std::uint64_t n, std::uint64_t size) {
  const std::uint64_t offset = mix64(seed ^ mix64(tag)) % size;
  std::uint64_t stride = 1 + mix64(seed ^ mix64(tag + 1)) % (size - 1);
  while (std::gcd(stride, size) != 1) stride = stride % (size - 1) + 1;
  return (offset + (n % size) * stride) % size;
}

std::string with_round(std::string name, std::uint64_t n, std::uint64_t size) {
  if (n >= size) name += " " + std::to_string(n / size + 1);
  return name;
}

std::string camel(const std::string& words) {
  std::string out;
  bool start = true;
  for (char c : words) {
    if (!std::isalnum(static_cast<unsigned char>(c))) {
      start = true;
      continue;
    }
    out += start ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    start = false;
  }
  return out;
}

}  // namespace

int artist_index_of(std::uint64_t seed, int index) {
  // Artists release one to six songs each (about three on average), one after another.
  constexpr double weights[6] = {0.15, 0.2, 0.25, 0.2, 0.12, 0.08};
  int artist = 0;
  for (int first = 0;; ++artist) {
    Rng rng = Rng::derive(seed, {kRunTag, static_cast<std::uint64_t>(artist)});
    first += 1 + static_cast<int>(rng.weighted(weights));
    if (index < first) return artist;
  }
}

std::string artist_name(std::uint64_t seed, int artist_index) {
  const std::uint64_t bands = count(kBandWords) * count(kBandNouns);
  const std::uint64_t size = bands + count(kFirstNames) * count(kLastNames);
  const auto n = static_cast<std::uint64_t>(artist_index);
  const std::uint64_t k = permuted(seed, kArtistTag, n, size);
  std::string name;
  if (k < bands) {
    // Bands with "The" are the ones whose index is even: which bands get it depends on the index only.
    name = std::string(k % 2 == 0 ? "The " : "") + kBandWords[k / count(kBandNouns)] + " " +
           kBandNouns[k % count(kBandNouns)];
  } else {
    const std::uint64_t s = k - bands;
    name = std::string(kFirstNames[s / count(kLastNames)]) + " " + kLastNames[s % count(kLastNames)];
  }
  return with_round(name, n, size);
}

std::string song_title(std::uint64_t seed, int index) {
  const std::uint64_t size = count(kTitleWords) * count(kTitleNouns);
  const auto n = static_cast<std::uint64_t>(index);
  const std::uint64_t k = permuted(seed, kTitleTag, n, size);
  return with_round(std::string(kTitleWords[k / count(kTitleNouns)]) + " " + kTitleNouns[k % count(kTitleNouns)], n,
                    size);
}

std::string track_id(const std::string& artist, const std::string& title) { return camel(artist) + "_" + camel(title); }

}  // namespace unmix::synth

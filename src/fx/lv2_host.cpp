// Hosting one LV2 plugin through lilv: the world, the URID table, features and options, ports, the
// synchronous worker and the block loop.
#include "unmix/fx/lv2.h"

#include <dlfcn.h>
#include <lilv/lilv.h>
#include <lv2/atom/atom.h>
#include <lv2/buf-size/buf-size.h>
#include <lv2/core/lv2.h>
#include <lv2/log/log.h>
#include <lv2/options/options.h>
#include <lv2/parameters/parameters.h>
#include <lv2/resize-port/resize-port.h>
#include <lv2/urid/urid.h>
#include <lv2/worker/worker.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <deque>
#include <mutex>
#include <system_error>
#include <unordered_map>

#include "unmix/error.h"

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

namespace unmix::fx {

namespace {

// Sets flush-to-zero and denormals-are-zero for the current thread and restores the previous mode.
class FlushDenormals {
 public:
  FlushDenormals() {
#if defined(__x86_64__) || defined(__i386__)
    saved_ = _mm_getcsr();
    _mm_setcsr(static_cast<unsigned>(saved_) | 0x8040u);  // FTZ (bit 15) and DAZ (bit 6)
#elif defined(__aarch64__)
    std::uint64_t fpcr = 0;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
    saved_ = fpcr;
    __asm__ __volatile__("msr fpcr, %0" : : "r"(fpcr | (std::uint64_t{1} << 24)));  // FZ
#endif
  }
  ~FlushDenormals() {
#if defined(__x86_64__) || defined(__i386__)
    _mm_setcsr(static_cast<unsigned>(saved_));
#elif defined(__aarch64__)
    __asm__ __volatile__("msr fpcr, %0" : : "r"(saved_));
#endif
  }
  FlushDenormals(const FlushDenormals&) = delete;
  FlushDenormals& operator=(const FlushDenormals&) = delete;

 private:
  std::uint64_t saved_ = 0;
};

// One URID table for the whole process, so atoms mean the same in every instance; map and unmap may be
// called from any thread. Node-based map: the key strings never move, so unmap can hand out their c_str().
class UridTable {
 public:
  LV2_URID map(const char* uri) {
    std::lock_guard lock(mutex_);
    auto [it, inserted] = ids_.try_emplace(uri, static_cast<LV2_URID>(names_.size() + 1));
    if (inserted) names_.push_back(&it->first);
    return it->second;
  }
  const char* unmap(LV2_URID id) {
    std::lock_guard lock(mutex_);
    return id >= 1 && id <= names_.size() ? names_[id - 1]->c_str() : nullptr;
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, LV2_URID> ids_;
  std::vector<const std::string*> names_;
};

// Never destroyed: a plugin freed during static destruction may still unmap.
UridTable& urids() {
  static UridTable* table = new UridTable;
  return *table;
}

LV2_URID map_uri(LV2_URID_Map_Handle, const char* uri) { return uri ? urids().map(uri) : 0; }
const char* unmap_urid(LV2_URID_Unmap_Handle, LV2_URID id) { return urids().unmap(id); }

std::string num(double v) {
  std::array<char, 32> text{};
  std::snprintf(text.data(), text.size(), "%g", v);
  return text.data();
}

bool is_power_of_2(int n) { return n > 0 && (n & (n - 1)) == 0; }

constexpr std::size_t kMinAtomCapacity = 65536;  // bytes; above what LSP's UI streams ask for (55296)
constexpr std::size_t kMaxMessages = 4000;       // characters of log kept per instance

}  // namespace

// ---------------------------------------------------------------------------------------------------
// The world

struct Lv2World::Impl {
  std::mutex mutex;
  LilvWorld* world = nullptr;
  const LilvPlugins* plugins = nullptr;
  std::vector<LilvNode*> nodes;  // freed with the world
  LilvNode* audio_port = nullptr;
  LilvNode* control_port = nullptr;
  LilvNode* atom_port = nullptr;
  LilvNode* cv_port = nullptr;
  LilvNode* input_port = nullptr;
  LilvNode* output_port = nullptr;
  LilvNode* connection_optional = nullptr;
  LilvNode* integer = nullptr;
  LilvNode* toggled = nullptr;
  LilvNode* enumeration = nullptr;
  LilvNode* minimum_size = nullptr;
  LilvNode* required_option = nullptr;

  LilvNode* node(const char* uri) {
    LilvNode* n = lilv_new_uri(world, uri);
    if (!n) fail("LV2", std::string("lilv cannot make a node for ") + uri);
    nodes.push_back(n);
    return n;
  }

  // The caller holds `mutex`.
  const LilvPlugin* find(const std::string& uri) const {
    LilvNode* n = lilv_new_uri(world, uri.c_str());
    if (!n) return nullptr;  // not a URI lilv accepts: certainly not installed
    const LilvPlugin* plugin = lilv_plugins_get_by_uri(plugins, n);
    lilv_node_free(n);
    return plugin;
  }
};

Lv2World::Lv2World() : impl_(std::make_unique<Impl>()) {
  Impl& w = *impl_;
  w.world = lilv_world_new();
  if (!w.world) fail("LV2", "lilv_world_new failed");
  lilv_world_load_all(w.world);
  w.plugins = lilv_world_get_all_plugins(w.world);
  if (!w.plugins) fail("LV2", "lilv lists no plugin collection");
  w.audio_port = w.node(LV2_CORE__AudioPort);
  w.control_port = w.node(LV2_CORE__ControlPort);
  w.atom_port = w.node(LV2_ATOM__AtomPort);
  w.cv_port = w.node(LV2_CORE__CVPort);
  w.input_port = w.node(LV2_CORE__InputPort);
  w.output_port = w.node(LV2_CORE__OutputPort);
  w.connection_optional = w.node(LV2_CORE__connectionOptional);
  w.integer = w.node(LV2_CORE__integer);
  w.toggled = w.node(LV2_CORE__toggled);
  w.enumeration = w.node(LV2_CORE__enumeration);
  w.minimum_size = w.node(LV2_RESIZE_PORT__minimumSize);
  w.required_option = w.node(LV2_OPTIONS__requiredOption);
}

Lv2World::~Lv2World() {
  for (LilvNode* n : impl_->nodes) lilv_node_free(n);
  if (impl_->world) lilv_world_free(impl_->world);
}

bool Lv2World::has(std::string_view uri) const {
  std::lock_guard lock(impl_->mutex);
  return impl_->find(std::string(uri)) != nullptr;
}

std::vector<std::string> Lv2World::uris() const {
  std::lock_guard lock(impl_->mutex);
  std::vector<std::string> out;
  LILV_FOREACH (plugins, i, impl_->plugins) {
    const LilvNode* uri = lilv_plugin_get_uri(lilv_plugins_get(impl_->plugins, i));
    if (uri && lilv_node_is_uri(uri)) out.emplace_back(lilv_node_as_uri(uri));
  }
  std::sort(out.begin(), out.end());
  return out;
}

void Lv2World::load_bundle(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(dir / "manifest.ttl", ec)) fail(dir, "not an LV2 bundle (no manifest.ttl)");
  const std::string path = std::filesystem::absolute(dir, ec).string() + "/";  // lilv wants the trailing slash
  std::lock_guard lock(impl_->mutex);
  LilvNode* uri = lilv_new_file_uri(impl_->world, nullptr, path.c_str());
  if (!uri) fail(dir, "lilv cannot make a file URI for this bundle");
  lilv_world_load_bundle(impl_->world, uri);
  lilv_node_free(uri);
}

Lv2World& lv2_world() {
  static Lv2World* world = new Lv2World;
  return *world;
}

std::string_view lv2_package_for(std::string_view uri) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 5> kPrefixes = {{
      {"http://guitarix.sourceforge.net/", "guitarix-lv2"},
      {"http://lsp-plug.in/", "lsp-plugins-lv2"},
      {"http://gareus.org/oss/lv2/", "x42-plugins"},
      {"http://calf.sourceforge.net/", "calf-plugins"},
      {"urn:zamaudio:", "zam-plugins"},
  }};
  for (const auto& [prefix, package] : kPrefixes)
    if (uri.substr(0, prefix.size()) == prefix) return package;
  return {};
}

// ---------------------------------------------------------------------------------------------------
// One instance

namespace {
enum class PortKind { AudioIn, AudioOut, ControlIn, ControlOut, AtomIn, AtomOut, Unconnected };
}  // namespace

struct Lv2Plugin::Impl {
  std::string uri;
  std::string where;  // "LV2 plugin <uri>", the subject of every error
  std::string name;
  double sample_rate = 0;
  int block = 0;
  LilvInstance* instance = nullptr;
  bool active = false;
  const LV2_Worker_Interface* worker = nullptr;

  std::vector<PortKind> kinds;        // per port index
  std::vector<std::string> symbols;   // per port index
  std::vector<float> values;          // per port index: what control ports are connected to
  std::vector<std::vector<float>> audio_in, audio_out;  // one block per audio port, in port order
  struct AtomBuffer {
    std::uint32_t port = 0;
    bool input = false;
    std::vector<std::uint64_t> data;  // 64-bit aligned, as atoms must be
  };
  std::vector<AtomBuffer> atoms;
  std::vector<Lv2Control> controls;
  std::vector<std::uint32_t> control_ports;  // port index of controls[i]
  int latency_port = -1;

  // Features and options; the plugin keeps pointers to all of these.
  LV2_URID_Map map{nullptr, map_uri};
  LV2_URID_Unmap unmap{nullptr, unmap_urid};
  LV2_Worker_Schedule schedule{this, schedule_work};
  LV2_Log_Log log{this, log_printf, log_vprintf};
  std::int32_t block_length = 0;
  std::int32_t sequence_size = 0;
  float rate_option = 0;
  std::vector<LV2_Options_Option> options;
  std::vector<LV2_Feature> features;
  std::vector<const LV2_Feature*> feature_list;
  LV2_URID atom_sequence = 0, atom_chunk = 0, log_error = 0, log_warning = 0;

  // Worker jobs scheduled during run() (or by a job), and their responses.
  std::vector<std::vector<std::uint8_t>> jobs, responses;

  std::mutex messages_mutex;  // plugins may log from threads of their own
  std::string messages;

  ~Impl() {
    if (!instance) return;
    std::lock_guard lock(lv2_world().impl().mutex);
    FlushDenormals mode;
    if (active) lilv_instance_deactivate(instance);
    lilv_instance_free(instance);
  }

  void add_message(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    std::lock_guard lock(messages_mutex);
    if (messages.size() + text.size() + 1 > kMaxMessages) return;
    if (!messages.empty()) messages += '\n';
    messages += text;
  }

  // " (plugin log: ...)" for error messages, one line.
  std::string log_suffix() {
    std::lock_guard lock(messages_mutex);
    if (messages.empty()) return {};
    std::string flat = messages;
    std::replace(flat.begin(), flat.end(), '\n', ';');
    return " (plugin log: " + flat + ")";
  }

  static LV2_Worker_Status schedule_work(LV2_Worker_Schedule_Handle handle, std::uint32_t size, const void* data) {
    auto* self = static_cast<Impl*>(handle);
    const auto* bytes = static_cast<const std::uint8_t*>(data);
    self->jobs.emplace_back(bytes, bytes + size);
    return LV2_WORKER_SUCCESS;
  }

  static LV2_Worker_Status respond(LV2_Worker_Respond_Handle handle, std::uint32_t size, const void* data) {
    auto* self = static_cast<Impl*>(handle);
    const auto* bytes = static_cast<const std::uint8_t*>(data);
    self->responses.emplace_back(bytes, bytes + size);
    return LV2_WORKER_SUCCESS;
  }

  static int log_vprintf(LV2_Log_Handle handle, LV2_URID type, const char* format, va_list args) {
    auto* self = static_cast<Impl*>(handle);
    std::array<char, 512> text{};
    const int n = std::vsnprintf(text.data(), text.size(), format, args);
    if (type == self->log_error || type == self->log_warning) self->add_message(text.data());
    return n;
  }

  static int log_printf(LV2_Log_Handle handle, LV2_URID type, const char* format, ...) {
    va_list args;
    va_start(args, format);
    const int n = log_vprintf(handle, type, format, args);
    va_end(args);
    return n;
  }

  [[noreturn]] void abandon_jobs(const std::string& why) {
    jobs.clear();
    responses.clear();
    fail(where, why);
  }

  // Runs the scheduled jobs now, then delivers their responses, as a worker thread and the next cycle would;
  // the caller holds the world lock. A job or response may schedule further jobs.
  void run_jobs() {
    LV2_Handle handle = lilv_instance_get_handle(instance);
    for (int round = 0; !jobs.empty() || !responses.empty(); ++round) {
      if (round == 100) abandon_jobs("worker jobs keep scheduling more jobs");
      std::vector<std::vector<std::uint8_t>> batch;
      batch.swap(jobs);
      for (const auto& job : batch) {
        if (!worker || !worker->work) abandon_jobs("scheduled worker jobs but has no worker interface");
        const LV2_Worker_Status status =
            worker->work(handle, respond, this, static_cast<std::uint32_t>(job.size()), job.data());
        if (status != LV2_WORKER_SUCCESS)
          abandon_jobs("a worker job failed (status " + std::to_string(static_cast<int>(status)) + ")" + log_suffix());
      }
      batch.clear();
      batch.swap(responses);
      for (const auto& response : batch)
        if (worker->work_response) worker->work_response(handle, static_cast<std::uint32_t>(response.size()), response.data());
    }
  }

  // Index into controls, or -1.
  int find_control(std::string_view symbol) const {
    for (std::size_t i = 0; i < controls.size(); ++i)
      if (controls[i].symbol == symbol) return static_cast<int>(i);
    return -1;
  }

  std::string control_names() const {
    std::string list;
    for (std::size_t i = 0; i < controls.size(); ++i) {
      if (i == 24) return list + ", ... (" + std::to_string(controls.size()) + " in all)";
      list += (i ? ", " : "") + controls[i].symbol;
    }
    return list.empty() ? "none" : list;
  }

  void check_features(const Lv2World::Impl& w, const LilvPlugin* plugin) const {
    std::vector<std::string> supported = {LV2_URID__map, LV2_URID__unmap, LV2_OPTIONS__options,
                                          LV2_BUF_SIZE__boundedBlockLength, LV2_BUF_SIZE__fixedBlockLength,
                                          LV2_WORKER__schedule, LV2_LOG__log,
                                          // statements about the plugin, not services of the host
                                          LV2_CORE__hardRTCapable, LV2_CORE__inPlaceBroken};
    if (is_power_of_2(block)) supported.emplace_back(LV2_BUF_SIZE__powerOf2BlockLength);
    LilvNodes* required = lilv_plugin_get_required_features(plugin);
    std::string missing;
    LILV_FOREACH (nodes, i, required) {
      const LilvNode* feature = lilv_nodes_get(required, i);
      const char* f = feature && lilv_node_is_uri(feature) ? lilv_node_as_uri(feature) : nullptr;
      if (f && std::find(supported.begin(), supported.end(), f) == supported.end()) missing += (missing.empty() ? "" : ", ") + std::string(f);
    }
    lilv_nodes_free(required);
    if (!missing.empty()) fail(where, "requires LV2 features this host does not provide: " + missing);

    const std::array<const char*, 5> provided = {LV2_BUF_SIZE__minBlockLength, LV2_BUF_SIZE__maxBlockLength,
                                                 LV2_BUF_SIZE__nominalBlockLength, LV2_BUF_SIZE__sequenceSize,
                                                 LV2_PARAMETERS__sampleRate};
    LilvNodes* options_needed = lilv_plugin_get_value(plugin, w.required_option);
    LILV_FOREACH (nodes, i, options_needed) {
      const LilvNode* option = lilv_nodes_get(options_needed, i);
      const char* o = option && lilv_node_is_uri(option) ? lilv_node_as_uri(option) : nullptr;
      if (o && std::none_of(provided.begin(), provided.end(), [&](const char* p) { return std::string_view(p) == o; }))
        missing += (missing.empty() ? "" : ", ") + std::string(o);
    }
    lilv_nodes_free(options_needed);
    if (!missing.empty()) fail(where, "requires LV2 options this host does not provide: " + missing);
  }

  void scan_ports(const Lv2World::Impl& w, const LilvPlugin* plugin) {
    const std::uint32_t count = lilv_plugin_get_num_ports(plugin);
    kinds.resize(count, PortKind::Unconnected);
    symbols.resize(count);
    values.assign(count, 0.0f);
    for (std::uint32_t i = 0; i < count; ++i) {
      const LilvPort* port = lilv_plugin_get_port_by_index(plugin, i);
      if (!port) fail(where, "lilv finds no port " + std::to_string(i));
      const LilvNode* symbol = lilv_port_get_symbol(plugin, port);
      symbols[i] = symbol ? lilv_node_as_string(symbol) : "port " + std::to_string(i);
      const bool input = lilv_port_is_a(plugin, port, w.input_port);
      if (input == lilv_port_is_a(plugin, port, w.output_port))
        fail(where, "port " + symbols[i] + " is not exactly one of input and output");
      if (lilv_port_is_a(plugin, port, w.audio_port)) {
        kinds[i] = input ? PortKind::AudioIn : PortKind::AudioOut;
        (input ? audio_in : audio_out).emplace_back(static_cast<std::size_t>(block), 0.0f);
      } else if (lilv_port_is_a(plugin, port, w.control_port)) {
        kinds[i] = input ? PortKind::ControlIn : PortKind::ControlOut;
        scan_control(w, plugin, port, i, input);
      } else if (lilv_port_is_a(plugin, port, w.atom_port)) {
        kinds[i] = input ? PortKind::AtomIn : PortKind::AtomOut;
        std::size_t bytes = kMinAtomCapacity;
        if (LilvNode* size = lilv_port_get(plugin, port, w.minimum_size)) {
          if (lilv_node_is_int(size) && lilv_node_as_int(size) > 0)
            bytes = std::max(bytes, static_cast<std::size_t>(lilv_node_as_int(size)));
          lilv_node_free(size);
        }
        atoms.push_back({i, input, std::vector<std::uint64_t>((bytes + 7) / 8, 0)});
      } else if (lilv_port_has_property(plugin, port, w.connection_optional)) {
        kinds[i] = PortKind::Unconnected;
      } else {
        const bool cv = lilv_port_is_a(plugin, port, w.cv_port);
        fail(where, "port " + symbols[i] + (cv ? " is a CV port" : " is of a type") + " this host does not support");
      }
    }
    if (lilv_plugin_has_latency(plugin)) {
      const std::uint32_t port = lilv_plugin_get_latency_port_index(plugin);
      if (port >= count || kinds[port] != PortKind::ControlOut)
        fail(where, "its latency port " + std::to_string(port) + " is not a control output");
      latency_port = static_cast<int>(port);
    }
  }

  void scan_control(const Lv2World::Impl& w, const LilvPlugin* plugin, const LilvPort* port, std::uint32_t index,
                    bool input) {
    LilvNode* def = nullptr;
    LilvNode* min = nullptr;
    LilvNode* max = nullptr;
    lilv_port_get_range(plugin, port, &def, &min, &max);
    const auto value_of = [](const LilvNode* n) {
      return n && (lilv_node_is_float(n) || lilv_node_is_int(n)) ? lilv_node_as_float(n) : NAN;
    };
    Lv2Control c;
    c.symbol = symbols[index];
    c.min = value_of(min);
    c.max = value_of(max);
    const float d = value_of(def);
    c.default_value = std::isfinite(d) ? d : std::isfinite(c.min) ? c.min : 0.0f;
    lilv_node_free(def);
    lilv_node_free(min);
    lilv_node_free(max);
    values[index] = c.default_value;
    if (!input) return;
    if (LilvNode* label = lilv_port_get_name(plugin, port)) {
      c.name = lilv_node_as_string(label);
      lilv_node_free(label);
    }
    c.integer = lilv_port_has_property(plugin, port, w.integer);
    c.toggled = lilv_port_has_property(plugin, port, w.toggled);
    c.enumeration = lilv_port_has_property(plugin, port, w.enumeration);
    if (LilvScalePoints* points = lilv_port_get_scale_points(plugin, port)) {
      LILV_FOREACH (scale_points, i, points) {
        const LilvScalePoint* point = lilv_scale_points_get(points, i);
        const LilvNode* value = point ? lilv_scale_point_get_value(point) : nullptr;
        const LilvNode* label = point ? lilv_scale_point_get_label(point) : nullptr;
        if (value && std::isfinite(value_of(value)))
          c.scale_points.emplace_back(value_of(value), label ? lilv_node_as_string(label) : "");
      }
      lilv_scale_points_free(points);
      std::sort(c.scale_points.begin(), c.scale_points.end());
    }
    controls.push_back(std::move(c));
    control_ports.push_back(index);
  }

  void build_features() {
    map.handle = &urids();
    unmap.handle = &urids();
    atom_sequence = urids().map(LV2_ATOM__Sequence);
    atom_chunk = urids().map(LV2_ATOM__Chunk);
    log_error = urids().map(LV2_LOG__Error);
    log_warning = urids().map(LV2_LOG__Warning);
    const LV2_URID atom_int = urids().map(LV2_ATOM__Int);
    const LV2_URID atom_float = urids().map(LV2_ATOM__Float);
    block_length = block;
    std::size_t sequence = kMinAtomCapacity;
    for (const AtomBuffer& a : atoms) sequence = std::max(sequence, a.data.size() * 8);
    sequence_size = static_cast<std::int32_t>(sequence);
    rate_option = static_cast<float>(sample_rate);
    const auto option = [&](const char* key, LV2_URID type, const void* value) {
      options.push_back({LV2_OPTIONS_INSTANCE, 0, urids().map(key), 4, type, value});
    };
    option(LV2_BUF_SIZE__minBlockLength, atom_int, &block_length);
    option(LV2_BUF_SIZE__maxBlockLength, atom_int, &block_length);
    option(LV2_BUF_SIZE__nominalBlockLength, atom_int, &block_length);
    option(LV2_BUF_SIZE__sequenceSize, atom_int, &sequence_size);
    option(LV2_PARAMETERS__sampleRate, atom_float, &rate_option);
    options.push_back({LV2_OPTIONS_INSTANCE, 0, 0, 0, 0, nullptr});

    features = {{LV2_URID__map, &map},
                {LV2_URID__unmap, &unmap},
                {LV2_OPTIONS__options, options.data()},
                {LV2_BUF_SIZE__boundedBlockLength, nullptr},
                {LV2_BUF_SIZE__fixedBlockLength, nullptr},
                {LV2_WORKER__schedule, &schedule},
                {LV2_LOG__log, &log}};
    if (is_power_of_2(block)) features.push_back({LV2_BUF_SIZE__powerOf2BlockLength, nullptr});
    for (const LV2_Feature& f : features) feature_list.push_back(&f);
    feature_list.push_back(nullptr);
  }

  void connect_ports() {
    std::size_t in = 0, out = 0;
    for (std::uint32_t i = 0; i < kinds.size(); ++i) {
      void* location = nullptr;
      switch (kinds[i]) {
        case PortKind::AudioIn: location = audio_in[in++].data(); break;
        case PortKind::AudioOut: location = audio_out[out++].data(); break;
        case PortKind::ControlIn:
        case PortKind::ControlOut: location = &values[i]; break;
        case PortKind::AtomIn:
        case PortKind::AtomOut:
          for (AtomBuffer& a : atoms)
            if (a.port == i) location = a.data.data();
          break;
        case PortKind::Unconnected: break;
      }
      lilv_instance_connect_port(instance, i, location);
    }
  }

  // An empty sequence into every atom input, the full capacity offered to every atom output.
  void reset_atoms() {
    for (AtomBuffer& a : atoms) {
      auto* seq = reinterpret_cast<LV2_Atom_Sequence*>(a.data.data());
      if (a.input) {
        seq->atom.size = sizeof(LV2_Atom_Sequence_Body);
        seq->atom.type = atom_sequence;
        seq->body.unit = 0;
        seq->body.pad = 0;
      } else {
        seq->atom.size = static_cast<std::uint32_t>(a.data.size() * 8 - sizeof(LV2_Atom));
        seq->atom.type = atom_chunk;
      }
    }
  }
};

namespace {
// A plugin's shared library stays loaded for the life of the process once instantiated: several plugins
// keep static data (tables, allocations made at first use) that would be lost and re-made on every
// unload and reload, and memory reachable only from an unloaded library reads as leaked to LeakSanitizer.
// RTLD_NOLOAD only marks the library lilv already loaded; the extra reference is dropped again.
void keep_library_loaded(const LilvPlugin* plugin) {
  const LilvNode* library = lilv_plugin_get_library_uri(plugin);
  char* path = library ? lilv_file_uri_parse(lilv_node_as_uri(library), nullptr) : nullptr;
  if (!path) return;
  if (void* handle = ::dlopen(path, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE)) ::dlclose(handle);
  lilv_free(path);
}
}  // namespace

Lv2Plugin::Lv2Plugin(std::string_view uri, double sample_rate, int block) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.uri = std::string(uri);
  m.where = "LV2 plugin " + m.uri;
  m.sample_rate = sample_rate;
  m.block = block;
  if (!(sample_rate > 0) || !std::isfinite(sample_rate)) fail(m.where, "sample rate " + num(sample_rate) + " is not positive");
  if (block < 1 || block > 65536) fail(m.where, "block length " + std::to_string(block) + " is outside [1, 65536]");

  Lv2World::Impl& w = lv2_world().impl();
  std::lock_guard lock(w.mutex);
  const LilvPlugin* plugin = w.find(m.uri);
  if (!plugin) {
    const std::string_view package = lv2_package_for(m.uri);
    fail(m.where, package.empty() ? std::string("not installed (lv2ls lists the installed plugins)")
                                  : "not installed (Debian package " + std::string(package) + ")");
  }
  if (!lilv_plugin_verify(plugin)) fail(m.where, "its plugin data does not verify (lilv_plugin_verify)");
  if (LilvNode* name = lilv_plugin_get_name(plugin)) {
    m.name = lilv_node_as_string(name);
    lilv_node_free(name);
  } else {
    m.name = m.uri;
  }
  m.check_features(w, plugin);
  m.scan_ports(w, plugin);
  m.build_features();

  FlushDenormals mode;  // gx_cabinet and others set FTZ in instantiate: keep it out of the caller's thread
  m.instance = lilv_plugin_instantiate(plugin, sample_rate, m.feature_list.data());
  if (!m.instance) fail(m.where, "instantiation failed" + m.log_suffix());
  keep_library_loaded(plugin);
  m.worker = static_cast<const LV2_Worker_Interface*>(lilv_instance_get_extension_data(m.instance, LV2_WORKER__interface));
  m.connect_ports();
  lilv_instance_activate(m.instance);
  m.active = true;
  m.run_jobs();
}

Lv2Plugin::~Lv2Plugin() = default;
Lv2Plugin::Lv2Plugin(Lv2Plugin&&) noexcept = default;
Lv2Plugin& Lv2Plugin::operator=(Lv2Plugin&&) noexcept = default;

const std::string& Lv2Plugin::uri() const { return impl_->uri; }
const std::string& Lv2Plugin::name() const { return impl_->name; }
double Lv2Plugin::sample_rate() const { return impl_->sample_rate; }
int Lv2Plugin::block() const { return impl_->block; }
int Lv2Plugin::audio_inputs() const { return static_cast<int>(impl_->audio_in.size()); }
int Lv2Plugin::audio_outputs() const { return static_cast<int>(impl_->audio_out.size()); }
const std::vector<Lv2Control>& Lv2Plugin::controls() const { return impl_->controls; }

const Lv2Control& Lv2Plugin::control(std::string_view symbol) const {
  const int i = impl_->find_control(symbol);
  if (i < 0) fail(impl_->where, "has no control input '" + std::string(symbol) + "' (controls: " + impl_->control_names() + ")");
  return impl_->controls[static_cast<std::size_t>(i)];
}

void Lv2Plugin::set(std::string_view symbol, float value) {
  const Lv2Control& c = control(symbol);
  const std::string subject = "control " + c.symbol + " = " + num(value);
  const std::string range = "[" + num(c.min) + ", " + num(c.max) + "]";
  if (!std::isfinite(value)) fail(impl_->where, subject + " is not finite (range " + range + ")");
  if ((std::isfinite(c.min) && value < c.min) || (std::isfinite(c.max) && value > c.max))
    fail(impl_->where, subject + " is outside its range " + range);
  if (c.toggled && value != 0.0f && value != 1.0f) fail(impl_->where, subject + " is a toggle: 0 or 1");
  if (c.integer && value != std::round(value)) fail(impl_->where, subject + " must be an integer in " + range);
  if (c.enumeration && !c.scale_points.empty() &&
      std::none_of(c.scale_points.begin(), c.scale_points.end(), [&](const auto& p) { return p.first == value; })) {
    std::string choices;
    for (const auto& [v, label] : c.scale_points) choices += (choices.empty() ? "" : ", ") + num(v) + " (" + label + ")";
    fail(impl_->where, subject + " is not one of its values: " + choices);
  }
  const auto index = static_cast<std::size_t>(&c - impl_->controls.data());
  impl_->values[impl_->control_ports[index]] = value;
}

float Lv2Plugin::get(std::string_view symbol) const {
  const Impl& m = *impl_;
  for (std::size_t i = 0; i < m.kinds.size(); ++i)
    if ((m.kinds[i] == PortKind::ControlIn || m.kinds[i] == PortKind::ControlOut) && m.symbols[i] == symbol) return m.values[i];
  fail(m.where, "has no control port '" + std::string(symbol) + "'");
}

bool Lv2Plugin::reports_latency() const { return impl_->latency_port >= 0; }

int Lv2Plugin::latency() const {
  if (impl_->latency_port < 0) return 0;
  const float frames = impl_->values[static_cast<std::size_t>(impl_->latency_port)];
  return std::isfinite(frames) && frames > 0 ? static_cast<int>(std::lround(frames)) : 0;
}

void Lv2Plugin::process(const float* const* in, float* const* out) {
  Impl& m = *impl_;
  const auto frames = static_cast<std::size_t>(m.block);
  FlushDenormals mode;
  for (std::size_t j = 0; j < m.audio_in.size(); ++j) std::copy_n(in[j], frames, m.audio_in[j].data());
  m.reset_atoms();
  lilv_instance_run(m.instance, static_cast<std::uint32_t>(m.block));
  if (!m.jobs.empty()) {
    std::lock_guard lock(lv2_world().impl().mutex);
    m.run_jobs();
  }
  if (m.worker && m.worker->end_run) m.worker->end_run(lilv_instance_get_handle(m.instance));
  for (std::size_t j = 0; j < m.audio_out.size(); ++j) std::copy_n(m.audio_out[j].data(), frames, out[j]);
}

void Lv2Plugin::reset() {
  Impl& m = *impl_;
  std::lock_guard lock(lv2_world().impl().mutex);
  FlushDenormals mode;
  if (m.active) lilv_instance_deactivate(m.instance);
  m.active = false;
  lilv_instance_activate(m.instance);
  m.active = true;
  m.run_jobs();
}

std::string Lv2Plugin::messages() const {
  std::lock_guard lock(impl_->messages_mutex);
  return impl_->messages;
}

}  // namespace unmix::fx

// See docs/archive_format.md for the layout this file writes and reads.

#include "tiering/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <sodium.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include <fmt/format.h>

#include "base/checksum.h"
#include "base/coding.h"
#include "base/status_macros.h"
#include "env/clock.h"
#include "env/file_system.h"
#include "env/object_store.h"

namespace ebb {
namespace {

// Version 2 adds the store catalog to the TOC; version 1 archives are read.
constexpr uint32_t kFormatVersion = 2;
constexpr uint32_t kOldestFormatVersion = 1;
constexpr char kFooterStartMagic[] = "EBBFOOT1";  // 8 bytes, no NUL
constexpr char kFooterEndMagic[] = "EBBARCH1";
constexpr size_t kFooterBytes = 64;
constexpr char kTocMember[] = "ebb-toc.enc";
constexpr char kFooterMember[] = "ebb-footer";
constexpr char kHeaderXattr[] = "user.ebb.member";
constexpr uint8_t kHeaderKindSegment = 1;
constexpr uint8_t kHeaderKindTombstone = 2;
constexpr char kArchivePrefix[] = "archives/";
constexpr char kArchiveSuffix[] = ".tar";

void PutSegmentMeta(std::string* dst, const TieredSegmentMeta& m) {
  PutVarint64(dst, m.segment_id);
  PutLengthPrefixed(dst, m.database);
  PutLengthPrefixed(dst, m.smallest_key);
  PutLengthPrefixed(dst, m.largest_key);
  PutVarint64(dst, m.smallest_seq);
  PutVarint64(dst, m.largest_seq);
}

bool GetSegmentMeta(std::string_view* in, TieredSegmentMeta* m) {
  std::string_view db, lo, hi;
  if (!GetVarint64(in, &m->segment_id) || !GetLengthPrefixed(in, &db) || !GetLengthPrefixed(in, &lo) ||
      !GetLengthPrefixed(in, &hi) || !GetVarint64(in, &m->smallest_seq) || !GetVarint64(in, &m->largest_seq)) {
    return false;
  }
  m->database = db;
  m->smallest_key = lo;
  m->largest_key = hi;
  return true;
}

void PutMemberEntry(std::string* dst, const MemberEntry& e) {
  PutLengthPrefixed(dst, e.member);
  PutSegmentMeta(dst, e.meta);
  PutVarint64(dst, e.payload_offset);
  PutVarint64(dst, e.payload_length);
  PutVarint64(dst, e.plaintext_size);
  PutFixed64(dst, e.plaintext_checksum);
  PutFixed64(dst, e.ciphertext_checksum);
}

bool GetMemberEntry(std::string_view* in, MemberEntry* e) {
  std::string_view name;
  if (!GetLengthPrefixed(in, &name) || !GetSegmentMeta(in, &e->meta) || !GetVarint64(in, &e->payload_offset) ||
      !GetVarint64(in, &e->payload_length) || !GetVarint64(in, &e->plaintext_size) ||
      !GetFixed64(in, &e->plaintext_checksum) || !GetFixed64(in, &e->ciphertext_checksum)) {
    return false;
  }
  e->member = name;
  return true;
}

void PutCatalog(std::string* dst, const StoreCatalog& c) {
  PutFixed64(dst, static_cast<uint64_t>(c.wall_micros));
  PutVarint64(dst, c.next_file_number);
  PutVarint64(dst, c.next_db_id);
  PutVarint64(dst, c.databases.size());
  for (const auto& db : c.databases) {
    PutVarint64(dst, db.id);
    PutLengthPrefixed(dst, db.name);
    PutVarint64(dst, db.sequence);
    PutVarint64(dst, db.segments.size());
    for (const auto& seg : db.segments) {
      PutSegmentMeta(dst, seg.meta);
      PutFixed64(dst, seg.checksum);
      PutVarint64(dst, seg.file_size);
      PutVarint64(dst, seg.entries);
      PutVarint64(dst, seg.tombstones);
      PutVarint64(dst, seg.key_bytes);
      PutVarint64(dst, seg.value_bytes);
      PutVarint64(dst, seg.dead_bytes);
      PutFixed64(dst, static_cast<uint64_t>(seg.created_wall_micros));
      PutLengthPrefixed(dst, seg.archive);
    }
  }
}

bool GetCatalog(std::string_view* in, StoreCatalog* c) {
  uint64_t wall, n;
  if (!GetFixed64(in, &wall) || !GetVarint64(in, &c->next_file_number) || !GetVarint64(in, &c->next_db_id) ||
      !GetVarint64(in, &n) || n > in->size()) {
    return false;
  }
  c->wall_micros = static_cast<int64_t>(wall);
  c->databases.resize(n);
  for (auto& db : c->databases) {
    std::string_view name;
    uint64_t segments;
    if (!GetVarint64(in, &db.id) || !GetLengthPrefixed(in, &name) || !GetVarint64(in, &db.sequence) ||
        !GetVarint64(in, &segments) || segments > in->size()) {
      return false;
    }
    db.name = name;
    db.segments.resize(segments);
    for (auto& seg : db.segments) {
      uint64_t created;
      std::string_view archive;
      if (!GetSegmentMeta(in, &seg.meta) || !GetFixed64(in, &seg.checksum) || !GetVarint64(in, &seg.file_size) ||
          !GetVarint64(in, &seg.entries) || !GetVarint64(in, &seg.tombstones) || !GetVarint64(in, &seg.key_bytes) ||
          !GetVarint64(in, &seg.value_bytes) || !GetVarint64(in, &seg.dead_bytes) || !GetFixed64(in, &created) ||
          !GetLengthPrefixed(in, &archive)) {
        return false;
      }
      seg.created_wall_micros = static_cast<int64_t>(created);
      seg.archive = archive;
    }
  }
  return true;
}

std::string EncodeToc(const ArchiveToc& toc, uint32_t version) {
  std::string out;
  PutVarint32(&out, version);
  PutLengthPrefixed(&out, toc.archive);
  PutFixed64(&out, toc.key_id);
  PutVarint64(&out, toc.epoch);
  PutFixed64(&out, static_cast<uint64_t>(toc.created_wall_micros));
  PutVarint64(&out, toc.members.size());
  for (const auto& e : toc.members) PutMemberEntry(&out, e);
  PutVarint64(&out, toc.tombstones.size());
  for (const auto& t : toc.tombstones) {
    PutLengthPrefixed(&out, t.database);
    PutVarint64(&out, t.sequence);
  }
  if (version >= 2) {
    out.push_back(toc.catalog ? 1 : 0);
    if (toc.catalog) PutCatalog(&out, *toc.catalog);
  }
  return out;
}

bool DecodeToc(std::string_view in, ArchiveToc* toc) {
  uint32_t version;
  std::string_view name;
  uint64_t created, n;
  if (!GetVarint32(&in, &version) || version < kOldestFormatVersion || version > kFormatVersion ||
      !GetLengthPrefixed(&in, &name) ||
      !GetFixed64(&in, &toc->key_id) || !GetVarint64(&in, &toc->epoch) || !GetFixed64(&in, &created) ||
      !GetVarint64(&in, &n)) {
    return false;
  }
  toc->archive = name;
  toc->created_wall_micros = static_cast<int64_t>(created);
  if (n > in.size()) return false;  // each entry takes at least a byte
  toc->members.resize(n);
  for (auto& e : toc->members) {
    if (!GetMemberEntry(&in, &e)) return false;
  }
  if (!GetVarint64(&in, &n) || n > in.size()) return false;
  toc->tombstones.resize(n);
  for (auto& t : toc->tombstones) {
    std::string_view db;
    if (!GetLengthPrefixed(&in, &db) || !GetVarint64(&in, &t.sequence)) return false;
    t.database = db;
  }
  if (version >= 2) {
    if (in.empty()) return false;
    bool has_catalog = in[0] != 0;
    in.remove_prefix(1);
    if (has_catalog) {
      toc->catalog.emplace();
      if (!GetCatalog(&in, &*toc->catalog)) return false;
    }
  }
  return in.empty();
}

std::string MemberAd(const std::string& archive, const MemberEntry& e) {
  std::string ad = "ebb-member-v1";
  ad.push_back('\0');
  ad += archive;
  ad.push_back('\0');
  ad += e.member;
  ad.push_back('\0');
  PutSegmentMeta(&ad, e.meta);
  PutVarint64(&ad, e.plaintext_size);
  PutFixed64(&ad, e.plaintext_checksum);
  return ad;
}

std::string HeaderAd(const std::string& archive, std::string_view member) {
  std::string ad = "ebb-header-v1";
  ad.push_back('\0');
  ad += archive;
  ad.push_back('\0');
  ad += member;
  return ad;
}

std::string TocAd(const std::string& archive) {
  std::string ad = "ebb-toc-v1";
  ad.push_back('\0');
  ad += archive;
  return ad;
}

std::string EncodeFooter(uint64_t toc_offset, uint64_t toc_length, uint64_t toc_checksum, uint64_t key_id,
                         uint32_t member_count, uint32_t version) {
  std::string f;
  f.append(kFooterStartMagic, 8);
  PutFixed32(&f, version);
  PutFixed32(&f, 0);  // flags
  PutFixed64(&f, toc_offset);
  PutFixed64(&f, toc_length);
  PutFixed64(&f, toc_checksum);
  PutFixed64(&f, key_id);
  PutFixed32(&f, member_count);
  PutFixed32(&f, Checksum32(f));
  f.append(kFooterEndMagic, 8);
  return f;
}

struct Footer {
  uint64_t toc_offset, toc_length, toc_checksum, key_id;
  uint32_t member_count;
};

Result<Footer> DecodeFooter(std::string_view tail, uint64_t archive_size, const std::string& archive_name) {
  auto corrupt = [&](std::string_view why) {
    return Status::Corruption(fmt::format("archive {}: footer {}; run `ebb tier verify` (the TOC can be rebuilt "
                                          "from member headers with `ebb tier rebuild-index`)",
                                          archive_name, why));
  };
  size_t end = tail.size();
  while (end > 0 && tail[end - 1] == '\0') end--;
  if (end < kFooterBytes) return corrupt("not found in the archive's tail");
  std::string_view f = tail.substr(end - kFooterBytes, kFooterBytes);
  if (f.substr(56, 8) != std::string_view(kFooterEndMagic, 8) || f.substr(0, 8) != std::string_view(kFooterStartMagic, 8)) {
    return corrupt("magic number not found (not an Ebb archive, or a damaged tail)");
  }
  if (Checksum32(f.substr(0, 52)) != DecodeFixed32(f.data() + 52)) return corrupt("checksum mismatch");
  uint32_t version = DecodeFixed32(f.data() + 8);
  if (version < kOldestFormatVersion || version > kFormatVersion) {
    return Status::NotSupported(fmt::format("archive {}: format version {} (this build reads version {})",
                                            archive_name, version, kFormatVersion));
  }
  Footer out{.toc_offset = DecodeFixed64(f.data() + 16), .toc_length = DecodeFixed64(f.data() + 24),
             .toc_checksum = DecodeFixed64(f.data() + 32), .key_id = DecodeFixed64(f.data() + 40),
             .member_count = DecodeFixed32(f.data() + 48)};
  if (out.toc_length > kMaxTocBytes || out.toc_offset > archive_size || out.toc_length > archive_size - out.toc_offset) {
    return corrupt(fmt::format("points outside the {}-byte archive (TOC at {}, {} bytes)", archive_size,
                               out.toc_offset, out.toc_length));
  }
  return out;
}

// libarchive client callbacks writing through a WritableFile.
struct Sink {
  WritableFile* file = nullptr;
  uint64_t bytes = 0;
  Status error;
};

la_ssize_t SinkWrite(struct archive*, void* client, const void* buf, size_t n) {
  auto* sink = static_cast<Sink*>(client);
  Status s = sink->file->Append(std::string_view(static_cast<const char*>(buf), n));
  if (!s.ok()) {
    if (sink->error.ok()) sink->error = s;
    return -1;
  }
  sink->bytes += n;
  return static_cast<la_ssize_t>(n);
}

int SinkOpen(struct archive*, void*) { return ARCHIVE_OK; }
int SinkClose(struct archive*, void*) { return ARCHIVE_OK; }

constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

}  // namespace

void EncodeMemberEntry(std::string* dst, const MemberEntry& e) { PutMemberEntry(dst, e); }
bool DecodeMemberEntry(std::string_view* in, MemberEntry* e) { return GetMemberEntry(in, e); }
void EncodeCatalog(std::string* dst, const StoreCatalog& catalog) { PutCatalog(dst, catalog); }
bool DecodeCatalog(std::string_view* in, StoreCatalog* catalog) { return GetCatalog(in, catalog); }

std::string NewArchiveName(const Clock* clock) {
  // Monotonic within a millisecond (ULID's "monotonic" variant): a name
  // made in the same millisecond as the last one is the last one plus one,
  // so a later snapshot sorts later even when the clock did not move.
  static std::mutex mu;
  static std::string last;
  uint64_t ms = static_cast<uint64_t>(clock->WallMicros() / 1000);
  std::string name(26, '0');
  for (int i = 9; i >= 0; i--) {
    name[i] = kCrockford[ms & 31];
    ms >>= 5;
  }
  unsigned char random[16];
  randombytes_buf(random, sizeof(random));
  // The top bit of the random part stays clear, so increments never carry
  // into the time part.
  for (int i = 0; i < 16; i++) name[10 + i] = kCrockford[(random[i] & 31) & (i == 0 ? 15 : 31)];
  std::lock_guard<std::mutex> lock(mu);
  if (!last.empty() && name.compare(0, 10, last, 0, 10) == 0) {
    name = last;
    for (int i = 25; i >= 10; i--) {
      const char* at = std::strchr(kCrockford, name[i]);
      size_t digit = static_cast<size_t>(at - kCrockford);
      if (digit < 31) {
        name[i] = kCrockford[digit + 1];
        break;
      }
      name[i] = kCrockford[0];
    }
  }
  last = name;
  return name;
}

int64_t ArchiveNameMicros(std::string_view name) {
  if (name.size() != 26) return 0;
  uint64_t ms = 0;
  for (int i = 0; i < 10; i++) {
    const char* at = std::strchr(kCrockford, name[i]);
    if (at == nullptr || *at == '\0') return 0;
    ms = (ms << 5) | static_cast<uint64_t>(at - kCrockford);
  }
  return static_cast<int64_t>(ms) * 1000;
}

std::string SegmentKey::ToString() const {
  return fmt::format("{}/{:06d}.seg (checksum {:016x})", database, number, checksum);
}

std::string ArchiveObjectKey(std::string_view archive_name) {
  return fmt::format("{}{}{}", kArchivePrefix, archive_name, kArchiveSuffix);
}

std::string ArchiveNameFromKey(std::string_view key) {
  std::string_view prefix = kArchivePrefix;
  std::string_view suffix = kArchiveSuffix;
  if (key.size() <= prefix.size() + suffix.size() || key.substr(0, prefix.size()) != prefix ||
      key.substr(key.size() - suffix.size()) != suffix) {
    return "";
  }
  std::string_view name = key.substr(prefix.size(), key.size() - prefix.size() - suffix.size());
  if (name.find('/') != std::string_view::npos) return "";
  return std::string(name);
}

class ArchiveWriter::Impl {
 public:
  FileSystem* fs;
  std::string path;
  std::string archive_name;
  const ArchiveKey* key;
  Options options;
  int64_t created_wall_micros = 0;
  std::unique_ptr<WritableFile> file;
  Sink sink;
  struct archive* a = nullptr;
  ArchiveToc toc;
  bool finished = false;

  ~Impl() {
    if (a != nullptr) archive_write_free(a);
  }

  Status ArchiveError(std::string_view op) {
    if (!sink.error.ok()) return sink.error.WithContext(fmt::format("archive {}: {}", archive_name, op));
    return Status::IOError(fmt::format("archive {}: {}: {}", archive_name, op,
                                       a ? archive_error_string(a) ? archive_error_string(a) : "libarchive error" : ""));
  }

  // Writes one member; returns the offset of its payload within the tar.
  Result<uint64_t> AddEntry(const std::string& name, std::string_view payload, std::string_view xattr) {
    struct archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, name.c_str());
    archive_entry_set_filetype(entry, AE_IFREG);
    archive_entry_set_perm(entry, 0600);
    archive_entry_set_size(entry, static_cast<la_int64_t>(payload.size()));
    archive_entry_set_mtime(entry, created_wall_micros / 1'000'000, 0);
    if (!xattr.empty()) archive_entry_xattr_add_entry(entry, kHeaderXattr, xattr.data(), xattr.size());
    int r = archive_write_header(a, entry);
    archive_entry_free(entry);
    if (r != ARCHIVE_OK) return ArchiveError(fmt::format("write header of {}", name));
    uint64_t offset = sink.bytes;
    size_t done = 0;
    while (done < payload.size()) {
      la_ssize_t n = archive_write_data(a, payload.data() + done, payload.size() - done);
      if (n <= 0) return ArchiveError(fmt::format("write data of {}", name));
      done += static_cast<size_t>(n);
    }
    if (archive_write_finish_entry(a) != ARCHIVE_OK) return ArchiveError(fmt::format("finish {}", name));
    return offset;
  }

  std::string SealedHeader(const std::string& member, const std::string& record) {
    std::string x;
    PutFixed64(&x, key->key_id());
    x += key->Seal(record, HeaderAd(archive_name, member));
    return x;
  }
};

ArchiveWriter::ArchiveWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ArchiveWriter::~ArchiveWriter() = default;

Result<std::unique_ptr<ArchiveWriter>> ArchiveWriter::Create(FileSystem* fs, const std::string& path,
                                                             const std::string& archive_name, const ArchiveKey* key,
                                                             const Clock* clock, Options options) {
  auto impl = std::make_unique<Impl>();
  impl->fs = fs;
  impl->path = path;
  impl->archive_name = archive_name;
  impl->key = key;
  impl->options = options;
  impl->created_wall_micros = clock->WallMicros();
  impl->toc.archive = archive_name;
  impl->toc.key_id = key->key_id();
  impl->toc.epoch = options.epoch;
  impl->toc.created_wall_micros = impl->created_wall_micros;
  EBB_ASSIGN_OR_RETURN(impl->file, fs->NewWritableFile(path));
  impl->sink.file = impl->file.get();
  impl->a = archive_write_new();
  if (impl->a == nullptr) return Status::IOError("archive_write_new failed (out of memory)");
  // Unblocked output: every header and payload goes straight to the sink, so
  // the byte count after a header is the payload's offset, and the archive
  // ends right after the two zero blocks (no padding to 10 KiB).
  if (archive_write_set_format_pax(impl->a) != ARCHIVE_OK ||
      archive_write_set_format_option(impl->a, "pax", "xattrheader", "LIBARCHIVE") != ARCHIVE_OK ||
      archive_write_set_bytes_per_block(impl->a, 0) != ARCHIVE_OK ||
      archive_write_open(impl->a, &impl->sink, SinkOpen, SinkWrite, SinkClose) != ARCHIVE_OK) {
    return impl->ArchiveError("open");
  }
  return std::unique_ptr<ArchiveWriter>(new ArchiveWriter(std::move(impl)));
}

Status ArchiveWriter::AddSegment(const TieredSegmentMeta& meta, std::string_view contents) {
  Impl& w = *impl_;
  if (contents.size() > kMaxMemberPlaintextBytes) {
    return Status::InvalidArgument(fmt::format("archive {}: segment {} is {} bytes, over the {} byte member limit",
                                               w.archive_name, meta.segment_id, contents.size(),
                                               kMaxMemberPlaintextBytes));
  }
  MemberEntry e;
  e.member = fmt::format("segments/{:06d}.seg.zst.enc", meta.segment_id);
  e.meta = meta;
  e.plaintext_size = contents.size();
  e.plaintext_checksum = Hash64(contents);
  std::string compressed(ZSTD_compressBound(contents.size()), '\0');
  size_t n = ZSTD_compress(compressed.data(), compressed.size(), contents.data(), contents.size(),
                           w.options.zstd_level);
  if (ZSTD_isError(n)) {
    return Status::Internal(fmt::format("archive {}: zstd compression of segment {} failed: {}", w.archive_name,
                                        meta.segment_id, ZSTD_getErrorName(n)));
  }
  compressed.resize(n);
  std::string payload = w.key->Seal(compressed, MemberAd(w.archive_name, e));
  e.payload_length = payload.size();
  e.ciphertext_checksum = Hash64(payload);

  std::string record;
  record.push_back(static_cast<char>(kHeaderKindSegment));
  PutSegmentMeta(&record, e.meta);
  PutVarint64(&record, e.plaintext_size);
  PutFixed64(&record, e.plaintext_checksum);
  PutFixed64(&record, e.ciphertext_checksum);
  EBB_ASSIGN_OR_RETURN(e.payload_offset, w.AddEntry(e.member, payload, w.SealedHeader(e.member, record)));
  w.toc.members.push_back(std::move(e));
  return Status::OK();
}

Status ArchiveWriter::AddTombstone(const DatabaseTombstone& tombstone) {
  Impl& w = *impl_;
  std::string member = fmt::format("tombstones/{:04d}.tomb", w.toc.tombstones.size());
  std::string record;
  record.push_back(static_cast<char>(kHeaderKindTombstone));
  PutLengthPrefixed(&record, tombstone.database);
  PutVarint64(&record, tombstone.sequence);
  EBB_RETURN_IF_ERROR(w.AddEntry(member, "", w.SealedHeader(member, record)).status());
  w.toc.tombstones.push_back(tombstone);
  return Status::OK();
}

void ArchiveWriter::SetCatalog(StoreCatalog catalog) { impl_->toc.catalog = std::move(catalog); }

Result<ArchiveToc> ArchiveWriter::Finish() {
  Impl& w = *impl_;
  if (w.finished) return Status::Internal(fmt::format("archive {}: Finish called twice", w.archive_name));
  w.finished = true;
  if (w.options.format_version < kOldestFormatVersion || w.options.format_version > kFormatVersion) {
    return Status::InvalidArgument(fmt::format("archive {}: cannot write format version {}", w.archive_name,
                                               w.options.format_version));
  }
  if (w.options.format_version < 2) w.toc.catalog.reset();
  std::string sealed_toc = w.key->Seal(EncodeToc(w.toc, w.options.format_version), TocAd(w.archive_name));
  EBB_ASSIGN_OR_RETURN(uint64_t toc_offset, w.AddEntry(kTocMember, sealed_toc, ""));
  std::string footer = EncodeFooter(toc_offset, sealed_toc.size(), Hash64(sealed_toc), w.key->key_id(),
                                    static_cast<uint32_t>(w.toc.members.size() + w.toc.tombstones.size()),
                                    w.options.format_version);
  EBB_RETURN_IF_ERROR(w.AddEntry(kFooterMember, footer, "").status());
  if (archive_write_close(w.a) != ARCHIVE_OK) return w.ArchiveError("close");
  archive_write_free(w.a);
  w.a = nullptr;
  EBB_RETURN_IF_ERROR(w.file->Sync().WithContext(fmt::format("archive {}", w.archive_name)));
  EBB_RETURN_IF_ERROR(w.file->Close().WithContext(fmt::format("archive {}", w.archive_name)));
  return w.toc;
}

uint64_t ArchiveWriter::bytes_written() const { return impl_->sink.bytes; }

RangeReader ObjectRangeReader(ObjectStore* store, std::string key) {
  return [store, key = std::move(key)](uint64_t offset, uint64_t length) { return store->GetRange(key, offset, length); };
}

RangeReader FileRangeReader(FileSystem* fs, std::string path) {
  return [fs, path = std::move(path)](uint64_t offset, uint64_t length) -> Result<std::string> {
    EBB_ASSIGN_OR_RETURN(auto file, fs->NewRandomAccessFile(path));
    if (offset >= file->Size()) {
      return Status::InvalidArgument(fmt::format("read {} at {}: past the end", path, offset));
    }
    std::string out(static_cast<size_t>(std::min(length, file->Size() - offset)), '\0');
    EBB_ASSIGN_OR_RETURN(std::string_view piece, file->Read(offset, out.size(), out.data()));
    if (piece.data() != out.data()) out.assign(piece.data(), piece.size());
    out.resize(piece.size());
    return out;
  };
}

namespace {

struct Tail {
  std::string bytes;
  uint64_t offset = 0;
  Footer footer;
};

Result<Tail> ReadTail(const RangeReader& reader, uint64_t size, const std::string& archive_name, int* reads) {
  Tail t;
  uint64_t tail_length = std::min(size, kArchiveTailReadBytes);
  t.offset = size - tail_length;
  if (tail_length == 0) return Status::Corruption(fmt::format("archive {} is empty", archive_name));
  EBB_ASSIGN_OR_RETURN(t.bytes, reader(t.offset, tail_length));
  ++*reads;
  if (t.bytes.size() != tail_length) {
    return Status::Corruption(fmt::format("archive {}: tail read returned {} of {} bytes (object shorter than listed)",
                                          archive_name, t.bytes.size(), tail_length));
  }
  EBB_ASSIGN_OR_RETURN(t.footer, DecodeFooter(t.bytes, size, archive_name));
  return t;
}

}  // namespace

Result<uint64_t> ReadArchiveKeyId(const RangeReader& reader, uint64_t size, const std::string& archive_name) {
  int reads = 0;
  EBB_ASSIGN_OR_RETURN(Tail tail, ReadTail(reader, size, archive_name, &reads));
  return tail.footer.key_id;
}

Result<ArchiveToc> ReadArchiveToc(const RangeReader& reader, uint64_t size, const std::string& archive_name,
                                  const KeyRing& keys, int* reads) {
  int local_reads = 0;
  if (reads == nullptr) reads = &local_reads;
  EBB_ASSIGN_OR_RETURN(Tail tail, ReadTail(reader, size, archive_name, reads));
  const Footer& footer = tail.footer;
  EBB_ASSIGN_OR_RETURN(const ArchiveKey* key, keys.ForArchive(footer.key_id, archive_name));
  std::string sealed;
  if (footer.toc_offset >= tail.offset) {
    sealed = tail.bytes.substr(static_cast<size_t>(footer.toc_offset - tail.offset), static_cast<size_t>(footer.toc_length));
  } else {
    EBB_ASSIGN_OR_RETURN(sealed, reader(footer.toc_offset, footer.toc_length));
    ++*reads;
  }
  if (sealed.size() != footer.toc_length || Hash64(sealed) != footer.toc_checksum) {
    return Status::Corruption(fmt::format("archive {}: TOC checksum mismatch (expected {:016x}, got {:016x})",
                                          archive_name, footer.toc_checksum, Hash64(sealed)));
  }
  EBB_ASSIGN_OR_RETURN(std::string plain,
                       key->Open(sealed, TocAd(archive_name), fmt::format("archive {} TOC", archive_name)));
  ArchiveToc toc;
  if (!DecodeToc(plain, &toc) || toc.archive != archive_name || toc.key_id != footer.key_id) {
    return Status::Corruption(fmt::format("archive {}: TOC does not decode", archive_name));
  }
  return toc;
}

Result<std::string> OpenMemberPayload(std::string_view payload, const std::string& archive_name,
                                      const MemberEntry& entry, const ArchiveKey& key) {
  std::string what = fmt::format("archive {} member {}", archive_name, entry.member);
  if (payload.size() != entry.payload_length) {
    return Status::Corruption(fmt::format("{}: payload is {} bytes, expected {}", what, payload.size(),
                                          entry.payload_length));
  }
  uint64_t cchk = Hash64(payload);
  if (cchk != entry.ciphertext_checksum) {
    return Status::Corruption(fmt::format("{}: ciphertext checksum mismatch (expected {:016x}, got {:016x})", what,
                                          entry.ciphertext_checksum, cchk));
  }
  EBB_ASSIGN_OR_RETURN(std::string compressed, key.Open(payload, MemberAd(archive_name, entry), what));
  if (entry.plaintext_size > kMaxMemberPlaintextBytes) {
    return Status::Corruption(fmt::format("{}: plaintext size {} over the member limit", what, entry.plaintext_size));
  }
  unsigned long long frame_size = ZSTD_getFrameContentSize(compressed.data(), compressed.size());
  if (frame_size != entry.plaintext_size) {
    return Status::Corruption(fmt::format("{}: zstd frame holds {} bytes, expected {}", what, frame_size,
                                          entry.plaintext_size));
  }
  std::string plain(static_cast<size_t>(entry.plaintext_size), '\0');
  size_t n = ZSTD_decompress(plain.data(), plain.size(), compressed.data(), compressed.size());
  if (ZSTD_isError(n) || n != plain.size()) {
    return Status::Corruption(fmt::format("{}: zstd decompression failed: {}", what,
                                          ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short output"));
  }
  uint64_t pchk = Hash64(plain);
  if (pchk != entry.plaintext_checksum) {
    return Status::Corruption(fmt::format("{}: plaintext checksum mismatch (expected {:016x}, got {:016x})", what,
                                          entry.plaintext_checksum, pchk));
  }
  return plain;
}

Result<std::string> ReadMember(const RangeReader& reader, const std::string& archive_name, const MemberEntry& entry,
                               const ArchiveKey& key) {
  auto payload = reader(entry.payload_offset, entry.payload_length);
  if (!payload.ok()) {
    return payload.status().WithContext(fmt::format("archive {} member {}", archive_name, entry.member));
  }
  return OpenMemberPayload(*payload, archive_name, entry, key);
}

Result<ArchiveToc> ScanArchive(std::string_view bytes, const std::string& archive_name, const KeyRing& keys,
                               std::vector<std::string>* skipped) {
  struct archive* a = archive_read_new();
  if (a == nullptr) return Status::IOError("archive_read_new failed (out of memory)");
  archive_read_support_format_tar(a);
  if (archive_read_open_memory(a, bytes.data(), bytes.size()) != ARCHIVE_OK) {
    Status s = Status::Corruption(fmt::format("archive {}: not a tar archive: {}", archive_name,
                                              archive_error_string(a) ? archive_error_string(a) : "?"));
    archive_read_free(a);
    return s;
  }
  ArchiveToc toc;
  toc.archive = archive_name;
  Status result;
  const ArchiveKey* archive_key = nullptr;  // of the first member: every member uses the archive's key
  struct archive_entry* entry = nullptr;
  while (true) {
    int r = archive_read_next_header(a, &entry);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
      // A damaged header ends the walk: tar has no resynchronization point.
      if (skipped) skipped->push_back(fmt::format("header after offset {}: {}", archive_filter_bytes(a, 0),
                                                  archive_error_string(a) ? archive_error_string(a) : "?"));
      break;
    }
    std::string name = archive_entry_pathname(entry) ? archive_entry_pathname(entry) : "";
    // The reader consumed exactly the headers: its position is the payload's offset.
    auto offset = static_cast<uint64_t>(archive_filter_bytes(a, 0));
    auto length = static_cast<uint64_t>(archive_entry_size(entry));
    std::string xattr;
    archive_entry_xattr_reset(entry);
    const char* xname;
    const void* xvalue;
    size_t xsize;
    while (archive_entry_xattr_next(entry, &xname, &xvalue, &xsize) == ARCHIVE_OK) {
      if (std::string_view(xname) == kHeaderXattr) xattr.assign(static_cast<const char*>(xvalue), xsize);
    }
    if (xattr.empty()) continue;  // TOC, footer, or a foreign member
    if (xattr.size() < 8) {
      if (skipped) skipped->push_back(name + ": header metadata too short");
      continue;
    }
    uint64_t member_key_id = DecodeFixed64(xattr.data());
    if (archive_key == nullptr) {
      auto found = keys.ForArchive(member_key_id, archive_name);
      if (!found.ok()) {
        result = found.status();
        break;
      }
      archive_key = *found;
      toc.key_id = member_key_id;
    } else if (member_key_id != toc.key_id) {
      if (skipped) skipped->push_back(name + ": key id differs");
      continue;
    }
    const ArchiveKey& key = *archive_key;
    auto record = key.Open(std::string_view(xattr).substr(8), HeaderAd(archive_name, name),
                           fmt::format("archive {} member {} header", archive_name, name));
    if (!record.ok()) {
      if (skipped) skipped->push_back(record.status().message());
      continue;
    }
    std::string_view in = *record;
    if (in.empty()) continue;
    uint8_t kind = static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
    if (kind == kHeaderKindTombstone) {
      DatabaseTombstone t;
      std::string_view db;
      if (!GetLengthPrefixed(&in, &db) || !GetVarint64(&in, &t.sequence)) {
        if (skipped) skipped->push_back(name + ": tombstone record does not decode");
        continue;
      }
      t.database = db;
      toc.tombstones.push_back(std::move(t));
      continue;
    }
    MemberEntry e;
    e.member = name;
    e.payload_offset = offset;
    e.payload_length = length;
    if (kind != kHeaderKindSegment || !GetSegmentMeta(&in, &e.meta) || !GetVarint64(&in, &e.plaintext_size) ||
        !GetFixed64(&in, &e.plaintext_checksum) || !GetFixed64(&in, &e.ciphertext_checksum)) {
      if (skipped) skipped->push_back(name + ": member record does not decode");
      continue;
    }
    // The payload must be where the header says and match its checksum.
    if (offset + length > bytes.size() || Hash64(bytes.substr(offset, length)) != e.ciphertext_checksum) {
      if (skipped) skipped->push_back(name + ": payload checksum mismatch");
      continue;
    }
    toc.members.push_back(std::move(e));
  }
  archive_read_free(a);
  EBB_RETURN_IF_ERROR(result);
  return toc;
}

}  // namespace ebb

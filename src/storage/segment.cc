#include "storage/segment.h"

#include <cstring>

#include <zstd.h>

#include <fmt/format.h>

#include "base/checksum.h"
#include "base/coding.h"
#include "base/logging.h"
#include "base/status_macros.h"

namespace ebb {
namespace {

constexpr uint8_t kNoCompression = 0;
constexpr uint8_t kZstdCompression = 1;

int InternalKeyCmp(std::string_view a, std::string_view b) { return CompareInternalKeys(a, b); }

void EncodeBlockHandle(std::string* dst, const BlockHandle& h) {
  PutVarint64(dst, h.offset);
  PutVarint64(dst, h.size);
}

std::string BaseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

void SegmentProperties::EncodeTo(std::string* dst) const {
  PutVarint64(dst, db_id);
  PutVarint64(dst, entries);
  PutVarint64(dst, tombstones);
  PutVarint64(dst, key_bytes);
  PutVarint64(dst, value_bytes);
  PutLengthPrefixed(dst, smallest_key);
  PutLengthPrefixed(dst, largest_key);
  PutVarint64(dst, smallest_seq);
  PutVarint64(dst, largest_seq);
  PutVarint64(dst, data_blocks);
  PutFixed64(dst, static_cast<uint64_t>(created_unix_micros));
  // Appended later: older segments end before it, and read as none.
  if (!expiry.empty()) expiry.EncodeTo(dst);
}

bool SegmentProperties::DecodeFrom(std::string_view in) {
  std::string_view smallest, largest;
  uint64_t created = 0;
  bool ok = GetVarint64(&in, &db_id) && GetVarint64(&in, &entries) && GetVarint64(&in, &tombstones) &&
            GetVarint64(&in, &key_bytes) && GetVarint64(&in, &value_bytes) && GetLengthPrefixed(&in, &smallest) &&
            GetLengthPrefixed(&in, &largest) && GetVarint64(&in, &smallest_seq) && GetVarint64(&in, &largest_seq) &&
            GetVarint64(&in, &data_blocks) && GetFixed64(&in, &created);
  if (!ok) return false;
  smallest_key.assign(smallest);
  largest_key.assign(largest);
  created_unix_micros = static_cast<int64_t>(created);
  expiry = ExpiryProfile();
  if (!in.empty() && !expiry.DecodeFrom(&in)) return false;
  return true;
}

SegmentWriter::SegmentWriter(std::unique_ptr<WritableFile> file, std::string path, SegmentOptions options,
                             uint64_t db_id, int64_t created_unix_micros)
    : file_(std::move(file)),
      path_(std::move(path)),
      options_(options),
      data_(options.restart_interval),
      bloom_(options.bloom_bits_per_key) {
  props_.db_id = db_id;
  props_.created_unix_micros = created_unix_micros;
  props_.smallest_seq = kMaxSequenceNumber;
}

Status SegmentWriter::Add(std::string_view ikey, std::string_view value) {
  EBB_CHECK(!finished_);
  ParsedInternalKey parsed;
  if (!ParseInternalKey(ikey, &parsed)) return Status::Internal(fmt::format("{}: malformed internal key", path_));
  EBB_DCHECK(last_key_.empty() || CompareInternalKeys(last_key_, ikey) < 0);
  if (props_.entries == 0) props_.smallest_key.assign(parsed.user_key);
  props_.largest_key.assign(parsed.user_key);
  props_.entries++;
  if (parsed.type == ValueType::kDeletion) props_.tombstones++;
  if (parsed.type == ValueType::kValueWithDeadline && value.size() >= kDeadlineBytes) {
    deadlines_.push_back(static_cast<int64_t>(DecodeFixed64(value.data())));
  }
  props_.key_bytes += parsed.user_key.size();
  props_.value_bytes += value.size();
  props_.smallest_seq = std::min(props_.smallest_seq, parsed.sequence);
  props_.largest_seq = std::max(props_.largest_seq, parsed.sequence);
  bloom_.AddKey(parsed.user_key);
  data_.Add(ikey, value);
  last_key_.assign(ikey);
  if (data_.EstimatedSize() >= options_.block_bytes) return FlushDataBlock();
  return Status::OK();
}

Status SegmentWriter::FlushDataBlock() {
  if (data_.empty()) return Status::OK();
  BlockHandle handle;
  EBB_RETURN_IF_ERROR(WriteBlock(data_.Finish(), /*allow_compression=*/true, &handle));
  std::string encoded;
  EncodeBlockHandle(&encoded, handle);
  // Index key: the block's last internal key, so Seek(target) on the index
  // lands on the first block that can hold target.
  index_.Add(last_key_, encoded);
  data_.Reset();
  props_.data_blocks++;
  return Status::OK();
}

Status SegmentWriter::WriteBlock(std::string_view contents, bool allow_compression, BlockHandle* handle) {
  uint8_t type = kNoCompression;
  std::string_view stored = contents;
  if (allow_compression && options_.zstd) {
    compressed_.resize(ZSTD_compressBound(contents.size()));
    size_t n = ZSTD_compress(compressed_.data(), compressed_.size(), contents.data(), contents.size(),
                             options_.zstd_level);
    // Keep compression only if it saves at least 1/8.
    if (!ZSTD_isError(n) && n < contents.size() - contents.size() / 8) {
      type = kZstdCompression;
      stored = std::string_view(compressed_.data(), n);
    }
  }
  char trailer[kBlockTrailerBytes];
  trailer[0] = static_cast<char>(type);
  EncodeFixed32(trailer + 1, Checksum32(stored, std::string_view(trailer, 1)));
  handle->offset = offset_;
  handle->size = stored.size();
  EBB_RETURN_IF_ERROR(file_->Append(stored));
  EBB_RETURN_IF_ERROR(file_->Append(std::string_view(trailer, kBlockTrailerBytes)));
  hash_.Update(stored);
  hash_.Update(std::string_view(trailer, kBlockTrailerBytes));
  offset_ += stored.size() + kBlockTrailerBytes;
  return Status::OK();
}

Result<SegmentProperties> SegmentWriter::Finish() {
  EBB_CHECK(!finished_);
  finished_ = true;
  if (props_.entries == 0) props_.smallest_seq = 0;
  EBB_RETURN_IF_ERROR(FlushDataBlock());
  BlockHandle filter_handle, index_handle, props_handle;
  EBB_RETURN_IF_ERROR(WriteBlock(bloom_.Finish(), false, &filter_handle));
  if (index_.empty()) {
    // An empty segment still has a well-formed (empty) index block.
    index_.Reset();
  }
  EBB_RETURN_IF_ERROR(WriteBlock(index_.Finish(), false, &index_handle));
  props_.expiry = ExpiryProfile::Of(&deadlines_);
  deadlines_ = {};
  std::string props;
  props_.EncodeTo(&props);
  EBB_RETURN_IF_ERROR(WriteBlock(props, false, &props_handle));
  std::string footer;
  for (const BlockHandle* h : {&filter_handle, &index_handle, &props_handle}) {
    PutFixed64(&footer, h->offset);
    PutFixed64(&footer, h->size);
  }
  PutFixed32(&footer, kSegmentVersion);
  PutFixed32(&footer, Checksum32(footer));
  PutFixed64(&footer, kSegmentMagic);
  EBB_CHECK(footer.size() == kSegmentFooterBytes);
  EBB_RETURN_IF_ERROR(file_->Append(footer));
  hash_.Update(footer);
  offset_ += footer.size();
  EBB_RETURN_IF_ERROR(file_->Sync());
  EBB_RETURN_IF_ERROR(file_->Close());
  return props_;
}

Segment::Segment(std::string path, uint64_t number, std::unique_ptr<RandomAccessFile> file, uint64_t file_size)
    : path_(std::move(path)), number_(number), file_(std::move(file)), file_size_(file_size) {}

Result<std::shared_ptr<Segment>> Segment::Open(FileSystem* fs, const std::string& path, uint64_t number) {
  EBB_ASSIGN_OR_RETURN(auto file, fs->NewRandomAccessFile(path));
  uint64_t size = file->Size();
  std::string name = BaseName(path);
  if (size < kSegmentFooterBytes) {
    return Status::Corruption(fmt::format("segment {}: {} bytes is too short for a footer", name, size));
  }
  char scratch[kSegmentFooterBytes];
  EBB_ASSIGN_OR_RETURN(std::string_view footer, file->Read(size - kSegmentFooterBytes, kSegmentFooterBytes, scratch));
  if (footer.size() != kSegmentFooterBytes) {
    return Status::Corruption(fmt::format("segment {}: short read of the footer", name));
  }
  uint64_t magic = DecodeFixed64(footer.data() + 56);
  if (magic != kSegmentMagic) {
    return Status::Corruption(fmt::format("segment {}: bad magic 0x{:016x} in the footer (not a segment file)", name, magic));
  }
  uint32_t expected = DecodeFixed32(footer.data() + 52);
  uint32_t got = Checksum32(footer.substr(0, 52));
  if (expected != got) {
    return Status::Corruption(fmt::format("segment {} footer checksum mismatch (expected 0x{:08x}, got 0x{:08x})",
                                          name, expected, got));
  }
  uint32_t version = DecodeFixed32(footer.data() + 48);
  if (version != kSegmentVersion) {
    return Status::NotSupported(fmt::format("segment {}: format version {} is not supported", name, version));
  }
  BlockHandle handles[3];
  for (int i = 0; i < 3; i++) {
    handles[i].offset = DecodeFixed64(footer.data() + i * 16);
    handles[i].size = DecodeFixed64(footer.data() + i * 16 + 8);
    if (handles[i].offset + handles[i].size + kBlockTrailerBytes > size - kSegmentFooterBytes) {
      return Status::Corruption(fmt::format("segment {}: footer points past the end of the file", name));
    }
  }
  std::shared_ptr<Segment> seg(new Segment(path, number, std::move(file), size));
  if (seg->file_->ZeroCopy()) {
    const size_t words = static_cast<size_t>(size / 512 / 64 + 1);
    seg->verified_.reset(new std::atomic<uint64_t>[words]);
    for (size_t i = 0; i < words; i++) seg->verified_[i].store(0, std::memory_order_relaxed);
  }
  EBB_ASSIGN_OR_RETURN(Contents filter, seg->ReadBlockContents(handles[0], "filter block"));
  seg->filter_.assign(filter.view());
  EBB_ASSIGN_OR_RETURN(seg->index_, seg->ReadBlock(handles[1], "index block"));
  seg->fences_ = IndexFences::Build(seg->index_);
  EBB_ASSIGN_OR_RETURN(Contents props, seg->ReadBlockContents(handles[2], "properties block"));
  if (!seg->props_.DecodeFrom(props.view())) {
    return Status::Corruption(fmt::format("segment {}: malformed properties block", name));
  }
  return seg;
}

Result<Block> Segment::ReadBlock(const BlockHandle& handle, std::string_view what) const {
  EBB_ASSIGN_OR_RETURN(Contents c, ReadBlockContents(handle, what));
  auto block = c.is_owned ? Block::ParseOwned(std::move(c.owned)) : Block::ParseBorrowed(c.borrowed);
  if (!block.ok()) {
    return block.status().WithContext(fmt::format("segment {} {} at offset {}", BaseName(path_), what, handle.offset));
  }
  return block;
}

Result<Block> Segment::ReadDataBlock(const BlockHandle& handle) const {
  constexpr uint64_t kBitBytes = 512;
  // Bounds without sums that a damaged handle could overflow.
  const bool tracked = verified_ != nullptr && handle.size + kBlockTrailerBytes >= kBitBytes &&
                       handle.offset < file_size_ && handle.size < file_size_ - handle.offset &&
                       kBlockTrailerBytes <= file_size_ - handle.offset - handle.size;
  const uint64_t bit = handle.offset / kBitBytes;
  const uint64_t mask = uint64_t{1} << (bit % 64);
  if (tracked && (verified_[bit / 64].load(std::memory_order_acquire) & mask) != 0) {
    auto data = file_->Read(handle.offset, handle.size + kBlockTrailerBytes, nullptr);
    if (data.ok() && data->size() == handle.size + kBlockTrailerBytes &&
        static_cast<uint8_t>((*data)[handle.size]) == kNoCompression) {
      auto block = Block::ParseBorrowed(data->substr(0, handle.size));
      if (block.ok()) return block;
    }
    // Anything unexpected takes the verifying path, which reports it.
  }
  EBB_ASSIGN_OR_RETURN(Contents c, ReadBlockContents(handle, "data block"));
  auto block = c.is_owned ? Block::ParseOwned(std::move(c.owned)) : Block::ParseBorrowed(c.borrowed);
  if (!block.ok()) {
    return block.status().WithContext(fmt::format("segment {} data block at offset {}", BaseName(path_), handle.offset));
  }
  if (tracked && !c.is_owned) verified_[bit / 64].fetch_or(mask, std::memory_order_release);
  return block;
}

Result<Segment::Contents> Segment::ReadBlockContents(const BlockHandle& handle, std::string_view what) const {
  size_t n = static_cast<size_t>(handle.size) + kBlockTrailerBytes;
  if (handle.offset + n > file_size_) {
    return Status::Corruption(fmt::format("segment {} {} at offset {}: extends past the end of the file",
                                          BaseName(path_), what, handle.offset));
  }
  std::string owned;
  if (!file_->ZeroCopy()) owned.resize(n);
  EBB_ASSIGN_OR_RETURN(std::string_view data, file_->Read(handle.offset, n, owned.empty() ? nullptr : owned.data()));
  if (data.size() != n) {
    return Status::Corruption(fmt::format("segment {} {} at offset {}: short read ({} of {} bytes)", BaseName(path_),
                                          what, handle.offset, data.size(), n));
  }
  if (data.data() != owned.data()) owned.clear();  // served from an mmap: borrow
  std::string_view contents = data.substr(0, handle.size);
  uint8_t type = static_cast<uint8_t>(data[handle.size]);
  uint32_t expected = DecodeFixed32(data.data() + handle.size + 1);
  uint32_t got = Checksum32(contents, data.substr(handle.size, 1));
  if (expected != got) {
    return Status::Corruption(fmt::format("segment {} {} at offset {} checksum mismatch (expected 0x{:08x}, got 0x{:08x})",
                                          BaseName(path_), what, handle.offset, expected, got));
  }
  if (type == kZstdCompression) {
    unsigned long long raw = ZSTD_getFrameContentSize(contents.data(), contents.size());
    if (raw == ZSTD_CONTENTSIZE_ERROR || raw == ZSTD_CONTENTSIZE_UNKNOWN || raw > kMaxBlockContentsBytes) {
      return Status::Corruption(fmt::format("segment {} {} at offset {}: bad zstd frame", BaseName(path_), what,
                                            handle.offset));
    }
    std::string plain(static_cast<size_t>(raw), '\0');
    size_t r = ZSTD_decompress(plain.data(), plain.size(), contents.data(), contents.size());
    if (ZSTD_isError(r) || r != plain.size()) {
      return Status::Corruption(fmt::format("segment {} {} at offset {}: zstd decompression failed", BaseName(path_),
                                            what, handle.offset));
    }
    Contents c;
    c.owned = std::move(plain);
    c.is_owned = true;
    return c;
  }
  if (type != kNoCompression) {
    return Status::Corruption(fmt::format("segment {} {} at offset {}: unknown compression type {}", BaseName(path_),
                                          what, handle.offset, type));
  }
  Contents c;
  if (owned.empty()) {
    c.borrowed = contents;
  } else {
    c.owned = std::move(owned);
    c.owned.resize(handle.size);
    c.is_owned = true;
  }
  return c;
}

Result<bool> Segment::Get(std::string_view user_key, SequenceNumber seq, std::string* value, ValueType* type) const {
  return Get(user_key, BloomHash(user_key), seq, value, type);
}

Result<bool> Segment::Get(std::string_view user_key, uint64_t bloom_hash, SequenceNumber seq, std::string* value,
                          ValueType* type) const {
  if (!MayContainHash(bloom_hash)) return false;
  return GetPastFilter(user_key, seq, value, type);
}

Result<bool> Segment::GetPastFilter(std::string_view user_key, SequenceNumber seq, std::string* value,
                                    ValueType* type) const {
  // The seek target: the internal key, built on the stack when it is short.
  char stack[64];
  std::string heap;
  std::string_view target;
  if (user_key.size() + 8 <= sizeof(stack)) {
    std::memcpy(stack, user_key.data(), user_key.size());
    EncodeFixed64(stack + user_key.size(), PackTag(seq, kValueTypeForSeek));
    target = std::string_view(stack, user_key.size() + 8);
  } else {
    heap = MakeInternalKey(user_key, seq, kValueTypeForSeek);
    target = heap;
  }
  BlockHandle handle;
  const IndexFences::Outcome found =
      fences_ ? fences_->Find(user_key, &handle) : IndexFences::Outcome::kAmbiguous;
  if (found == IndexFences::Outcome::kPastEnd) return false;
  if (found == IndexFences::Outcome::kAmbiguous) {
    Block::Cursor index(&index_, InternalKeyCmp);
    index.Seek(target);
    if (!index.Valid()) {
      if (!index.status().ok()) return index.status().WithContext(fmt::format("segment {} index", BaseName(path_)));
      return false;
    }
    std::string_view handle_enc = index.value();
    if (!DecodeBlockHandle(&handle_enc, &handle)) {
      return Status::Corruption(fmt::format("segment {}: malformed block handle in the index", BaseName(path_)));
    }
  }
  EBB_ASSIGN_OR_RETURN(Block block, ReadDataBlock(handle));
  Block::Cursor cursor(&block, InternalKeyCmp);
  cursor.Seek(target);
  if (!cursor.Valid()) {
    if (!cursor.status().ok()) {
      return cursor.status().WithContext(fmt::format("segment {} data block at offset {}", BaseName(path_), handle.offset));
    }
    return false;
  }
  ParsedInternalKey parsed;
  if (!ParseInternalKey(cursor.key(), &parsed)) {
    return Status::Corruption(fmt::format("segment {} data block at offset {}: malformed key", BaseName(path_),
                                          handle.offset));
  }
  if (parsed.user_key != user_key) return false;
  *type = parsed.type;
  if (parsed.type != ValueType::kDeletion) value->assign(cursor.value());
  return true;
}

namespace {

// Two-level iterator: the index picks blocks, a block iterator walks one.
class SegmentIterator final : public InternalIterator {
 public:
  explicit SegmentIterator(std::shared_ptr<const Segment> seg, const Block* index)
      : seg_(std::move(seg)), index_(index, InternalKeyCmp) {}

  bool Valid() const override { return data_ != nullptr && data_->Valid(); }
  void SeekToFirst() override {
    index_.SeekToFirst();
    LoadBlock();
    if (data_) data_->SeekToFirst();
    SkipEmptyBlocks();
  }
  void Seek(std::string_view target) override {
    index_.Seek(target);
    LoadBlock();
    if (data_) data_->Seek(target);
    SkipEmptyBlocks();
  }
  void Next() override {
    data_->Next();
    SkipEmptyBlocks();
  }
  std::string_view key() const override { return data_->key(); }
  std::string_view value() const override { return data_->value(); }
  Status status() const override {
    if (!status_.ok()) return status_;
    if (!index_.status().ok()) return index_.status();
    if (data_) return data_->status();
    return Status::OK();
  }

 private:
  void LoadBlock() {
    data_.reset();
    if (!index_.Valid()) return;
    std::string_view enc = index_.value();
    BlockHandle handle;
    if (!DecodeBlockHandle(&enc, &handle)) {
      status_ = Status::Corruption(fmt::format("segment {}: malformed block handle in the index", seg_->path()));
      return;
    }
    auto block = seg_->ReadDataBlock(handle);
    if (!block.ok()) {
      status_ = block.status();
      return;
    }
    data_ = Block::NewIterator(std::move(*block), InternalKeyCmp);
  }
  void SkipEmptyBlocks() {
    while (status_.ok() && data_ != nullptr && !data_->Valid() && data_->status().ok()) {
      index_.Next();
      LoadBlock();
      if (data_) data_->SeekToFirst();
    }
  }

  std::shared_ptr<const Segment> seg_;
  Block::Cursor index_;
  std::unique_ptr<InternalIterator> data_;
  Status status_;
};

}  // namespace

std::unique_ptr<InternalIterator> Segment::NewIterator() const {
  return std::make_unique<SegmentIterator>(shared_from_this(), &index_);
}

Status Segment::VerifyChecksums() const {
  // Every data block is read and verified (ReadBlock, not ReadDataBlock:
  // whatever earlier reads marked verified), then its entries counted.
  Block::Cursor index(&index_, InternalKeyCmp);
  uint64_t n = 0;
  for (index.SeekToFirst(); index.Valid(); index.Next()) {
    std::string_view enc = index.value();
    BlockHandle handle;
    if (!DecodeBlockHandle(&enc, &handle)) {
      return Status::Corruption(fmt::format("segment {}: malformed block handle in the index", BaseName(path_)));
    }
    EBB_ASSIGN_OR_RETURN(Block block, ReadBlock(handle, "data block"));
    Block::Cursor cursor(&block, InternalKeyCmp);
    for (cursor.SeekToFirst(); cursor.Valid(); cursor.Next()) n++;
    if (!cursor.status().ok()) {
      return cursor.status().WithContext(
          fmt::format("segment {} data block at offset {}", BaseName(path_), handle.offset));
    }
  }
  if (!index.status().ok()) return index.status().WithContext(fmt::format("segment {} index", BaseName(path_)));
  if (n != props_.entries) {
    return Status::Corruption(fmt::format("segment {}: {} entries found, properties say {}", BaseName(path_), n,
                                          props_.entries));
  }
  return Status::OK();
}

Status WriteFilterFile(FileSystem* fs, const std::string& path, std::string_view filter) {
  std::string data(filter);
  PutFixed32(&data, kFilterFileVersion);
  PutFixed32(&data, Checksum32(data));
  PutFixed64(&data, kFilterFileMagic);
  return WriteFileAtomically(fs, data, path);
}

Result<std::string> ReadFilterFile(FileSystem* fs, const std::string& path) {
  EBB_ASSIGN_OR_RETURN(std::string data, ReadFileToString(fs, path));
  constexpr size_t kTrailer = 16;
  if (data.size() < kTrailer || DecodeFixed64(data.data() + data.size() - 8) != kFilterFileMagic) {
    return Status::Corruption(fmt::format("{}: not a filter file (bad magic or truncated)", path));
  }
  const size_t body = data.size() - kTrailer;
  uint32_t version = DecodeFixed32(data.data() + body);
  uint32_t expected = DecodeFixed32(data.data() + body + 4);
  uint32_t got = Checksum32(std::string_view(data).substr(0, body + 4));
  if (expected != got) {
    return Status::Corruption(
        fmt::format("{}: checksum mismatch (expected 0x{:08x}, got 0x{:08x})", path, expected, got));
  }
  if (version != kFilterFileVersion) {
    return Status::NotSupported(fmt::format("{}: filter file version {} is not supported", path, version));
  }
  data.resize(body);
  return data;
}

}  // namespace ebb

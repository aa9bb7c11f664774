// Copyright Ebb authors. Public API.
//
// Status and Result<T>: how every Ebb operation reports success or failure.
// Ebb throws no exceptions across its API; every fallible call returns one of
// these, marked [[nodiscard]] so an ignored error is a compile warning.
//
// Messages say what failed, on which object, and what to do, e.g.
//   Corruption: segment 000042.seg block 7 checksum mismatch (expected ..., got ...)
//
// Thread safety: a Status or Result is a value; distinct objects may be used
// from distinct threads, one object must not be mutated concurrently.

#ifndef EBB_STATUS_H_
#define EBB_STATUS_H_

#include <cassert>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "ebb/export.h"

namespace ebb {

enum class StatusCode : uint8_t {
  kOk = 0,
  kNotFound,         // key, database, file or object does not exist
  kCorruption,       // stored bytes fail a checksum, magic or format check
  kInvalidArgument,  // caller error: bad key, name, option or request
  kIOError,          // the operating system or device failed an operation
  kNoSpace,          // the disk (or a quota) is full; retry after freeing space
  kBusy,             // overloaded: rejected at once instead of queued; retry later
  kAborted,          // cancelled because the database or store was closing
  kTimedOut,         // an operation exceeded its deadline
  kAlreadyExists,    // create of something that exists
  kLocked,           // another process holds the data directory
  kPermissionDenied, // credentials or file permissions refused the operation
  kNotSupported,     // the build or configuration does not support this
  kUnavailable,      // a remote service (object store) could not be reached
  kReadOnly,         // writes refused after a sticky background error; reopen
  kInternal,         // an Ebb bug: an invariant did not hold
};

// Returns the stable name of a code ("NotFound", "IOError", ...).
EBB_EXPORT std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] EBB_EXPORT Status {
 public:
  // An OK status. Cheap: no allocation.
  Status() = default;

  static Status OK() { return Status(); }
  static Status NotFound(std::string msg) { return {StatusCode::kNotFound, std::move(msg)}; }
  static Status Corruption(std::string msg) { return {StatusCode::kCorruption, std::move(msg)}; }
  static Status InvalidArgument(std::string msg) { return {StatusCode::kInvalidArgument, std::move(msg)}; }
  static Status IOError(std::string msg) { return {StatusCode::kIOError, std::move(msg)}; }
  static Status NoSpace(std::string msg) { return {StatusCode::kNoSpace, std::move(msg)}; }
  static Status Busy(std::string msg) { return {StatusCode::kBusy, std::move(msg)}; }
  static Status Aborted(std::string msg) { return {StatusCode::kAborted, std::move(msg)}; }
  static Status TimedOut(std::string msg) { return {StatusCode::kTimedOut, std::move(msg)}; }
  static Status AlreadyExists(std::string msg) { return {StatusCode::kAlreadyExists, std::move(msg)}; }
  static Status Locked(std::string msg) { return {StatusCode::kLocked, std::move(msg)}; }
  static Status PermissionDenied(std::string msg) { return {StatusCode::kPermissionDenied, std::move(msg)}; }
  static Status NotSupported(std::string msg) { return {StatusCode::kNotSupported, std::move(msg)}; }
  static Status Unavailable(std::string msg) { return {StatusCode::kUnavailable, std::move(msg)}; }
  static Status ReadOnly(std::string msg) { return {StatusCode::kReadOnly, std::move(msg)}; }
  static Status Internal(std::string msg) { return {StatusCode::kInternal, std::move(msg)}; }

  Status(StatusCode code, std::string msg) : code_(code), msg_(std::move(msg)) {}

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return msg_; }

  bool IsNotFound() const { return code_ == StatusCode::kNotFound; }
  bool IsCorruption() const { return code_ == StatusCode::kCorruption; }
  bool IsInvalidArgument() const { return code_ == StatusCode::kInvalidArgument; }
  bool IsIOError() const { return code_ == StatusCode::kIOError; }
  bool IsNoSpace() const { return code_ == StatusCode::kNoSpace; }
  bool IsBusy() const { return code_ == StatusCode::kBusy; }
  bool IsAborted() const { return code_ == StatusCode::kAborted; }
  bool IsTimedOut() const { return code_ == StatusCode::kTimedOut; }
  bool IsAlreadyExists() const { return code_ == StatusCode::kAlreadyExists; }
  bool IsLocked() const { return code_ == StatusCode::kLocked; }
  bool IsPermissionDenied() const { return code_ == StatusCode::kPermissionDenied; }
  bool IsNotSupported() const { return code_ == StatusCode::kNotSupported; }
  bool IsUnavailable() const { return code_ == StatusCode::kUnavailable; }
  bool IsReadOnly() const { return code_ == StatusCode::kReadOnly; }
  bool IsInternal() const { return code_ == StatusCode::kInternal; }

  // "OK", or "<CodeName>: <message>".
  std::string ToString() const;

  // Returns a copy whose message is "<context>: <message>"; OK stays OK.
  // Used to add the object an error happened on as it travels up.
  Status WithContext(std::string_view context) const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.msg_ == b.msg_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string msg_;
};

// Result<T> holds either a T or a non-OK Status (like absl::StatusOr).
// Accessing the value of an error Result is a bug and asserts.
template <typename T>
class [[nodiscard]] Result {
 public:
  static_assert(!std::is_same_v<std::decay_t<T>, Status>, "Result<Status> is not allowed");

  // Implicit from a value, so `return value;` works.
  template <typename U = T,
            typename = std::enable_if_t<std::is_constructible_v<T, U&&> &&
                                        !std::is_same_v<std::decay_t<U>, Status> &&
                                        !std::is_same_v<std::decay_t<U>, Result>>>
  Result(U&& value) : rep_(std::in_place_index<1>, std::forward<U>(value)) {}  // NOLINT

  // Implicit from an error, so `return Status::NotFound(...)` works.
  // Passing an OK status is a bug; it becomes an Internal error.
  Result(Status status) : rep_(std::in_place_index<0>, std::move(status)) {  // NOLINT
    if (std::get<0>(rep_).ok()) {
      rep_.template emplace<0>(Status::Internal("Result constructed from an OK status without a value"));
    }
  }

  bool ok() const { return rep_.index() == 1; }

  // OK if a value is present, else the error.
  Status status() const { return ok() ? Status::OK() : std::get<0>(rep_); }

  T& value() & {
    assert(ok());
    return std::get<1>(rep_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<1>(rep_);
  }
  T&& value() && {
    assert(ok());
    return std::get<1>(std::move(rep_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // The value if present, else `fallback`.
  template <typename U>
  T value_or(U&& fallback) const& {
    return ok() ? std::get<1>(rep_) : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  std::variant<Status, T> rep_;
};

}  // namespace ebb

#endif  // EBB_STATUS_H_

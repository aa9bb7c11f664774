// Short call sites for Status and Result (like Abseil's RETURN_IF_ERROR /
// ASSIGN_OR_RETURN).
//
//   EBB_RETURN_IF_ERROR(file->Sync());
//   EBB_ASSIGN_OR_RETURN(auto file, fs->NewWritableFile(path));

#ifndef EBB_BASE_STATUS_MACROS_H_
#define EBB_BASE_STATUS_MACROS_H_

#include "ebb/status.h"

#define EBB_RETURN_IF_ERROR(expr)                 \
  do {                                            \
    ::ebb::Status ebb_status_ = (expr);           \
    if (!ebb_status_.ok()) return ebb_status_;    \
  } while (0)

#define EBB_CONCAT_INNER_(a, b) a##b
#define EBB_CONCAT_(a, b) EBB_CONCAT_INNER_(a, b)

#define EBB_ASSIGN_OR_RETURN(lhs, expr) \
  EBB_ASSIGN_OR_RETURN_IMPL_(EBB_CONCAT_(ebb_result_, __LINE__), lhs, expr)

#define EBB_ASSIGN_OR_RETURN_IMPL_(result, lhs, expr) \
  auto result = (expr);                               \
  if (!result.ok()) return result.status();           \
  lhs = std::move(result).value()

#endif  // EBB_BASE_STATUS_MACROS_H_

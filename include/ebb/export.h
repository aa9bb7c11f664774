// Copyright Ebb authors. Public API.
//
// EBB_EXPORT marks the declarations of the public API. The library is
// compiled with hidden symbol visibility, so a shared libebb exports these
// and nothing else (internal symbols cannot clash with an application's,
// and the dynamic symbol table stays small). For a static libebb it has no
// effect.

#ifndef EBB_EXPORT_H_
#define EBB_EXPORT_H_

#if defined(__GNUC__) || defined(__clang__)
#define EBB_EXPORT [[gnu::visibility("default")]]
#else
#define EBB_EXPORT
#endif

#endif  // EBB_EXPORT_H_

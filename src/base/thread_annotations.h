// Clang thread-safety annotations (checked by the `clang` preset with
// -Wthread-safety; no-ops under g++). Members are grouped by how they are
// synchronized and annotated with GUARDED_BY; functions that expect a lock
// held say REQUIRES.

#ifndef EBB_BASE_THREAD_ANNOTATIONS_H_
#define EBB_BASE_THREAD_ANNOTATIONS_H_

#if defined(__clang__)
#define EBB_THREAD_ANNOTATION_(x) __attribute__((x))
#else
#define EBB_THREAD_ANNOTATION_(x)
#endif

#define CAPABILITY(x) EBB_THREAD_ANNOTATION_(capability(x))
#define SCOPED_CAPABILITY EBB_THREAD_ANNOTATION_(scoped_lockable)
#define GUARDED_BY(x) EBB_THREAD_ANNOTATION_(guarded_by(x))
#define PT_GUARDED_BY(x) EBB_THREAD_ANNOTATION_(pt_guarded_by(x))
#define ACQUIRED_BEFORE(...) EBB_THREAD_ANNOTATION_(acquired_before(__VA_ARGS__))
#define ACQUIRED_AFTER(...) EBB_THREAD_ANNOTATION_(acquired_after(__VA_ARGS__))
#define REQUIRES(...) EBB_THREAD_ANNOTATION_(requires_capability(__VA_ARGS__))
#define REQUIRES_SHARED(...) EBB_THREAD_ANNOTATION_(requires_shared_capability(__VA_ARGS__))
#define ACQUIRE(...) EBB_THREAD_ANNOTATION_(acquire_capability(__VA_ARGS__))
#define ACQUIRE_SHARED(...) EBB_THREAD_ANNOTATION_(acquire_shared_capability(__VA_ARGS__))
#define RELEASE(...) EBB_THREAD_ANNOTATION_(release_capability(__VA_ARGS__))
#define RELEASE_SHARED(...) EBB_THREAD_ANNOTATION_(release_shared_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) EBB_THREAD_ANNOTATION_(try_acquire_capability(__VA_ARGS__))
#define EXCLUDES(...) EBB_THREAD_ANNOTATION_(locks_excluded(__VA_ARGS__))
#define ASSERT_CAPABILITY(x) EBB_THREAD_ANNOTATION_(assert_capability(x))
#define RETURN_CAPABILITY(x) EBB_THREAD_ANNOTATION_(lock_returned(x))
#define NO_THREAD_SAFETY_ANALYSIS EBB_THREAD_ANNOTATION_(no_thread_safety_analysis)

#endif  // EBB_BASE_THREAD_ANNOTATIONS_H_

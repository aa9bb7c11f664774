// Copyright Ebb authors. Public API: the one header an embedding user includes.
#ifndef EBB_EBB_H_
#define EBB_EBB_H_

#include "ebb/database.h"
#include "ebb/iterator.h"
#include "ebb/options.h"
#include "ebb/status.h"
#include "ebb/store.h"
#include "ebb/store_status.h"
#include "ebb/version.h"
#include "ebb/write_batch.h"

#endif  // EBB_EBB_H_

# Writes the files installed beside the programs that the programs
# themselves produce, so they always match the binary that is installed:
#   OUT_DIR/ebb.1     the manual page: `ebb --help` and every subcommand's
#                     help (one level of nesting: `ebb config set --help`)
#   OUT_DIR/ebb.toml  the configuration file of a system install
#                     (`ebb config template`: every setting at its default,
#                     commented out)
#
#   cmake -DEBB=path/to/ebb -DVERSION=x.y.z -DOUT_DIR=dir -P GenerateInstalledFiles.cmake

foreach(var EBB VERSION OUT_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "GenerateInstalledFiles.cmake: -D${var}= is required")
  endif()
endforeach()

function(ebb_run out)
  execute_process(COMMAND ${EBB} ${ARGN} OUTPUT_VARIABLE text ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "`ebb ${ARGN}` failed (${rc}): ${err}")
  endif()
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

# The names listed under "Subcommands:" in a help text.
function(ebb_subcommands help out)
  set(names "")
  string(FIND "${help}" "\nSubcommands:\n" at)
  if(at GREATER -1)
    string(SUBSTRING "${help}" ${at} -1 section)
    string(REGEX MATCHALL "\n  [a-z][a-z0-9-]*" found "${section}")
    foreach(f IN LISTS found)
      string(STRIP "${f}" f)
      list(APPEND names "${f}")
    endforeach()
  endif()
  set(${out} "${names}" PARENT_SCOPE)
endfunction()

# Help text as a roff no-fill block: backslashes escaped, lines that start
# with a control character neutralised, hyphens as minus signs.
function(ebb_roff text out)
  string(REPLACE "\\" "\\e" text "${text}")
  string(REPLACE "-" "\\-" text "${text}")
  string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" text "${text}")
  set(${out} ".nf\n${text}\n.fi\n" PARENT_SCOPE)
endfunction()

ebb_run(top --help)
# The usage line names the path the program was run from: use its name.
string(REGEX REPLACE "Usage: [^ \n]*ebb" "Usage: ebb" top "${top}")
ebb_roff("${top}" top_roff)
set(page ".TH EBB 1 \"\" \"ebb ${VERSION}\" \"User Commands\"
.SH NAME
ebb \\- key-value storage engine and server (Redis protocol) whose background work rests when idle
.SH SYNOPSIS
.B ebb
[\\fIOPTIONS\\fR] \\fISUBCOMMAND\\fR [\\fIARGS\\fR]
.SH DESCRIPTION
${top_roff}.SH COMMANDS
")
ebb_subcommands("${top}" commands)
foreach(cmd IN LISTS commands)
  ebb_run(help ${cmd} --help)
  string(REGEX REPLACE "Usage: [^ \n]*ebb" "Usage: ebb" help "${help}")
  ebb_roff("${help}" help_roff)
  string(APPEND page ".SS \"ebb ${cmd}\"\n${help_roff}")
  ebb_subcommands("${help}" subs)
  foreach(sub IN LISTS subs)
    ebb_run(sub_help ${cmd} ${sub} --help)
    string(REGEX REPLACE "Usage: [^ \n]*ebb" "Usage: ebb" sub_help "${sub_help}")
    ebb_roff("${sub_help}" sub_roff)
    string(APPEND page ".SS \"ebb ${cmd} ${sub}\"\n${sub_roff}")
  endforeach()
endforeach()
string(APPEND page ".SH FILES
.TP
.I /etc/ebb/ebb.toml
The configuration file of a system install (every setting at its default,
commented out). \\fBebb config reference\\fR describes every setting.
.TP
.I /var/lib/ebb
The data directory of the service.
.TP
.I ebb.service
The systemd unit: \\fBsystemctl reload ebb\\fR re-reads the configuration file
(SIGHUP); the log is in the journal (\\fBjournalctl \\-u ebb\\fR).
.SH SEE ALSO
.BR redis-cli (1),
.BR systemctl (1),
.BR journalctl (1);
operations.md, configuration.md and server.md in /usr/share/doc/ebb.
")
file(WRITE "${OUT_DIR}/ebb.1" "${page}")

ebb_run(template config template)
file(WRITE "${OUT_DIR}/ebb.toml" "${template}")

// Preloaded (node --require) into every service the driver starts: the driver holds the
// service's stdin open, so when the driver goes away, even killed, the service ends too.
// Processes the service forks inherit the --require but not the variable (removed here),
// so they keep their own stdin and lifetime.
'use strict';
if (process.env.MEMSLEUTH_EXIT_WITH_DRIVER) {
  delete process.env.MEMSLEUTH_EXIT_WITH_DRIVER;
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
}

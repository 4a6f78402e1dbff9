// Preloaded (node --require) into every service the driver starts: the driver holds the
// service's stdin open, so when the driver goes away, even killed, the service ends too.
'use strict';
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();

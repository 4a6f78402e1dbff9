// The classic Meteor leak (David Glasser, 2013): every call replaces `theThing`. The
// `unused` closure reads `originalThing`, so V8 puts `originalThing` in the context that
// all closures created by `replaceThing` share; `someMethod` never reads it but holds that
// context, so each new thing keeps the previous one alive: an ever-growing chain.
'use strict';
const { runScenario } = require('./harness');

let theThing = null;
let replacements = 0;

function replaceThing(n) {
  const originalThing = theThing;
  const unused = function () {
    if (originalThing) replacements++;
  };
  theThing = {
    longStr: new Array(400).join('*') + n,
    someMethod: function () {
      return theThing.longStr.length;
    },
  };
  unused();
}

function handleRefresh(n) {
  replaceThing(n);
  return theThing.someMethod();
}

module.exports = { handleRefresh };

runScenario({
  request: handleRefresh,
  iterations: 1000,
  warmupIterations: 100,
  exitAfter: true,
});

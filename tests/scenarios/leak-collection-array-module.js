// Audit trail kept in memory "until the exporter ships": every mutating request appends
// an entry to a module-level array. Nothing ever trims it.
'use strict';
const { runScenario } = require('./harness');

const auditTrail = [];

function recordAudit(actor, action, target, details) {
  auditTrail.push({ at: Date.now(), actor, action, target, details });
}

function handleUpdateInvoice(n) {
  const invoiceId = `INV-${2024000 + n}`;
  const changes = { status: n % 7 === 0 ? 'void' : 'paid', amountCents: 1999 + n };
  recordAudit(`clerk-${n % 17}`, 'invoice.update', invoiceId, changes);
  return invoiceId;
}

module.exports = { handleUpdateInvoice, auditTrailSize: () => auditTrail.length };

runScenario({
  request: handleUpdateInvoice,
  exitAfter: true,
});

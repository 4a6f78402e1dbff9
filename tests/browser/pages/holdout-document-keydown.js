// Confirmation dialogs: every time a dialog opens it adds a keydown handler on the document
// so Escape closes it. Closing the dialog hides it but leaves the handler, which keeps the
// dialog's state, so handlers accumulate on the document.
'use strict';
const modal = document.getElementById('modal');
let dialogs = 0;

function openDialog() {
  const dialogState = { id: ++dialogs, title: `Delete item ${dialogs}?`, choices: ['cancel', 'delete'], openedAt: Date.now() };
  document.getElementById('modal-text').textContent = dialogState.title;
  modal.hidden = false;
  document.addEventListener('keydown', function closeOnEscape(event) {
    if (event.key === 'Escape' && dialogState.id === dialogs) modal.hidden = true;
  });
}

function closeDialog() {
  modal.hidden = true;
}

document.getElementById('open-modal').addEventListener('click', openDialog);
document.getElementById('close-modal').addEventListener('click', closeDialog);

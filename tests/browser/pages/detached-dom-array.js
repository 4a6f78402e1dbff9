// Notification centre: new notifications are shown at the top and the oldest is dismissed
// when more than five are on screen. Dismissed items are kept so that "undo" can put them
// back, but nothing ever trims that list, so every dismissed element stays in memory.
'use strict';
const list = document.getElementById('notifications');
const dismissedItems = [];
let counter = 0;

function renderNotification(text) {
  const item = document.createElement('li');
  item.className = 'notification';
  item.innerHTML = `<span class="title">${text}</span><time>just now</time><button class="dismiss">Dismiss</button>`;
  list.prepend(item);
  return item;
}

function dismissOldest() {
  const oldest = list.lastElementChild;
  if (!oldest) return;
  oldest.remove();
  dismissedItems.push(oldest);
}

document.getElementById('notify').addEventListener('click', () => {
  renderNotification(`Build ${++counter} finished`);
  if (list.children.length > 5) dismissOldest();
});

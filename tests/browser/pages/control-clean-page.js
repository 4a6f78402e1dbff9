// Control: a todo list whose items are added and removed with their listeners, and a clock
// widget whose interval is cleared when it is replaced. Nothing outlives its element.
'use strict';
const todos = document.getElementById('todos');
let added = 0;
let clockTimer = null;

function addTodo() {
  const item = document.createElement('li');
  item.innerHTML = `<input type="checkbox"><span>Todo ${++added}</span>`;
  const onToggle = () => item.classList.toggle('done');
  item.querySelector('input').addEventListener('change', onToggle);
  item.cleanup = () => item.querySelector('input').removeEventListener('change', onToggle);
  todos.appendChild(item);
}

function removeTodo() {
  const first = todos.firstElementChild;
  if (!first) return;
  first.cleanup();
  first.remove();
}

function replaceClock() {
  if (clockTimer !== null) clearInterval(clockTimer);
  const state = { ticks: 0 };
  clockTimer = setInterval(() => {
    state.ticks++;
    document.getElementById('clock').textContent = String(state.ticks);
  }, 60000);
}

document.getElementById('add').addEventListener('click', addTodo);
document.getElementById('remove').addEventListener('click', removeTodo);
document.getElementById('widget').addEventListener('click', replaceClock);

// Webmail reader written with small ES classes. A MessageView binds its layout method in the
// constructor and registers it for window 'resize' when mounted; unmount() removes the
// element but forgets removeEventListener, so the window keeps every view's bound handler,
// and through it the view and its (now detached) message element.
'use strict';

class MessageView {
  constructor(message) {
    this.message = message;
    this.el = document.createElement('article');
    this.el.className = 'message';
    this.el.innerHTML = `<header><h2>${message.subject}</h2><address>${message.from}</address></header><div class="body">${message.body}</div><footer>${'<button>reply</button>'.repeat(3)}</footer>`;
    this.handleResize = this.handleResize.bind(this);
  }

  handleResize() {
    this.el.classList.toggle('narrow', window.innerWidth < 600);
  }

  mount(parent) {
    parent.appendChild(this.el);
    window.addEventListener('resize', this.handleResize);
  }

  unmount() {
    this.el.remove();
  }
}

const reader = document.getElementById('reader');
let current = null;
let seq = 0;

document.getElementById('open-message').addEventListener('click', () => {
  if (current) current.unmount();
  const id = ++seq;
  current = new MessageView({ subject: `Invoice ${id}`, from: `billing-${id}@example.com`, body: `<p>${'Please find the invoice attached. '.repeat(10)}</p>` });
  current.mount(reader);
});
document.getElementById('close-message').addEventListener('click', () => {
  if (current) current.unmount();
  current = null;
});

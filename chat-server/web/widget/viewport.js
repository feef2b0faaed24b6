// On a phone the open widget fills the screen (widget.css). The on-screen keyboard shrinks the
// *visual* viewport only: a panel sized to the layout viewport (even 100dvh) keeps its input
// under the keyboard. Following `visualViewport` keeps the composer just above the keyboard.

/** Mirrors the visual viewport's height and top into CSS variables on `panel`. */
export function followKeyboard(panel) {
  const vv = window.visualViewport;
  if (!vv) return; // old browsers: widget.css falls back to 100dvh
  const update = () => {
    panel.style.setProperty('--atendo-vv-height', `${vv.height}px`);
    panel.style.setProperty('--atendo-vv-top', `${vv.offsetTop}px`);
  };
  vv.addEventListener('resize', update);
  vv.addEventListener('scroll', update);
  update();
}

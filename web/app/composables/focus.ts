// Where the keyboard goes. Each pane focuses itself when a run needs it (the display's picture,
// the terminal); Escape in either hands the keys back to the editor through this.

/** Focus the code editor (CodeMirror's content element), e.g. after Escape in the display or terminal. */
export function focusEditor(): void {
  const editor = document.querySelector<HTMLElement>('[data-testid="editor"] .cm-content')
  editor?.focus({ preventScroll: true })
}

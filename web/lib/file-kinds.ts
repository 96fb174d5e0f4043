// Which project files are text (edited in the editor) and which are assets (images, sounds, data
// kept as bytes), decided by the extension, with the MIME type an asset is previewed with.

const TEXT_EXTENSIONS = new Set(['py', 'txt', 'md', 'csv', 'tsv', 'json', 'toml', 'cfg', 'ini', 'yaml', 'yml', 'xml', 'html', 'css', 'js'])

const MIME_TYPES: Record<string, string> = {
  png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', bmp: 'image/bmp', webp: 'image/webp',
  svg: 'image/svg+xml', wav: 'audio/wav', ogg: 'audio/ogg', mp3: 'audio/mpeg', ttf: 'font/ttf', otf: 'font/otf',
}

const extension = (path: string): string => {
  const name = path.slice(path.lastIndexOf('/') + 1)
  const dot = name.lastIndexOf('.')
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : ''
}

export const isTextPath = (path: string): boolean => TEXT_EXTENSIONS.has(extension(path))

export const mimeFor = (path: string): string => MIME_TYPES[extension(path)] ?? 'application/octet-stream'

/**
 * The name a student meant when adding a Python file: `helper` and `helper.py` both give
 * `helper.py` (a doubled `.py.py` from typing over a suggested name is collapsed too).
 * Names with another extension (`data.txt`) are kept as typed.
 */
export function pythonFileName(typed: string): string {
  let name = typed.trim()
  while (name.toLowerCase().endsWith('.py.py')) name = name.slice(0, -3)
  if (!name || name.endsWith('/')) return name
  return extension(name) || name.endsWith('.') ? name : `${name}.py`
}

// Saves the chunks of a server stream (an archive export, a CSV report) as a file.
export async function saveStream(chunks: AsyncIterable<{ chunk: Uint8Array }>, fileName: string, type: string): Promise<number> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const message of chunks) {
    parts.push(message.chunk);
    size += message.chunk.length;
  }
  saveBytes(parts, fileName, type);
  return size;
}

// Saves bytes as a file the browser downloads.
export function saveBytes(parts: Uint8Array[], fileName: string, type: string) {
  const url = URL.createObjectURL(new Blob(parts as BlobPart[], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = fileName;
  document.body.appendChild(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

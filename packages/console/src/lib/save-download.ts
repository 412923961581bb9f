/**
 * Handing a downloaded Blob (an age-encrypted bundle) to the browser's save
 * mechanism. The Blob URL lives only until the click has been dispatched.
 */
export function saveDownload(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.rel = 'noopener';
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

/** A boxed message: amber for warnings that need the operator, green for done, grey for info. */
import type { ComponentChildren } from 'preact';

export function Notice(props: {
  tone: 'warning' | 'success' | 'info';
  title?: string;
  testId?: string;
  children?: ComponentChildren;
}) {
  return (
    <div
      class={`notice notice-${props.tone}`}
      role={props.tone === 'warning' ? 'status' : undefined}
      data-testid={props.testId}
    >
      {props.title === undefined ? null : <strong>{props.title}</strong>}
      {props.children}
    </div>
  );
}

// Viewer actions other parts of the UI trigger (the Fit button, the F key): the mounted viewer registers them.
export const viewerActions: { fit: (() => void) | null } = { fit: null };

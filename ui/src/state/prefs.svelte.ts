// View preferences shared by every panel for this run.
export const prefs: { diffMode: 'unified' | 'split' } = $state({ diffMode: 'unified' });

export function missingManagerUnitDirs(): string[];
export function removeEmptyDirs(dirs: readonly string[]): void;

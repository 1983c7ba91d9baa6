// Class of each instance id of a windowed result, whose document lists no instances: the overlay tiles carry ids
// only, and colouring by class needs each id's class. Asked lazily, a page of records at a time, sorted by id
// ('result:instances'): the ids of a run are 1..N, so id k sits at offset k-1 and the page of an id on screen holds
// its neighbours too (objects near each other got nearby ids). Until its page is in, an id is drawn without colour
// (so is an id its page lacks, until the next revision). A result with one class needs no pages.
import type { ClassRecord, ResultInstancesPage, ResultInstancesRequest } from '../../preload/api';

export const CLASS_PAGE = 1000;

export type FetchPage = (request: ResultInstancesRequest) => Promise<ResultInstancesPage>;

export class InstanceClassIndex {
  private key = '';
  private resultId = '';
  private readonly classes = new Map<number, number>();
  private readonly pages = new Set<number>();
  /** The one class with objects (null: several, or none). */
  private only: number | null = null;
  /** Bumped when classes arrived (the viewer repaints its tiles). */
  version = 0;

  constructor(
    private readonly fetchPage: FetchPage,
    private readonly onUpdate: () => void,
  ) {}

  /** A new result or revision starts over (an edit may change an object's class). */
  reset(resultId: string, revision: number, classes: ClassRecord[]): void {
    const key = `${resultId}@${revision}`;
    if (key === this.key) return;
    this.key = key;
    this.resultId = resultId;
    this.classes.clear();
    this.pages.clear();
    const withObjects = classes.filter((c) => c.instanceCount > 0);
    this.only = withObjects.length === 1 ? withObjects[0]!.id : classes.length === 1 ? classes[0]!.id : null;
    this.version++;
  }

  /** The class of an id, or undefined while its page is on its way (it is asked for here). */
  classOf(id: number): number | undefined {
    if (this.only !== null) return this.only;
    const known = this.classes.get(id);
    if (known !== undefined) return known;
    const page = Math.floor(Math.max(0, id - 1) / CLASS_PAGE);
    if (!this.pages.has(page)) {
      this.pages.add(page);
      const key = this.key;
      this.fetchPage({ resultId: this.resultId, offset: page * CLASS_PAGE, limit: CLASS_PAGE, sort: { key: 'id' } })
        .then((p) => {
          if (key !== this.key) return;
          for (const r of p.instances) this.classes.set(r.id, r.classId);
          this.version++;
          this.onUpdate();
        })
        .catch(() => {
          // Left without colour; asked again after the next edit or result.
        });
    }
    return undefined;
  }
}

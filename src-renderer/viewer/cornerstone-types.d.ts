/**
 * The slice of cornerstone-core / cornerstone-tools / hammerjs the viewer uses. The packages ship no
 * types; these declarations cover exactly the calls made in src-renderer/viewer and nothing more.
 */

declare module 'cornerstone-core' {
  export interface Point {
    x: number;
    y: number;
  }
  export interface Voi {
    windowWidth: number;
    windowCenter: number;
  }
  export interface Viewport {
    scale: number;
    translation: Point;
    voi: Voi;
    invert: boolean;
    pixelReplication: boolean;
    rotation: number;
    hflip: boolean;
    vflip: boolean;
    modalityLUT?: unknown;
    voiLUT?: unknown;
    colormap?: unknown;
    labelmap?: boolean;
    displayedArea?: unknown;
  }
  export interface VoiLut {
    firstValueMapped: number;
    numBitsPerEntry: number;
    lut: number[];
  }
  export interface Image {
    imageId: string;
    minPixelValue: number;
    maxPixelValue: number;
    slope: number;
    intercept: number;
    windowCenter: number;
    windowWidth: number;
    getPixelData: () => ArrayLike<number>;
    rows: number;
    columns: number;
    height: number;
    width: number;
    color: boolean;
    rgba: boolean;
    columnPixelSpacing: number;
    rowPixelSpacing: number;
    invert: boolean;
    sizeInBytes: number;
    voiLUT?: VoiLut;
    floatPixelData?: Float32Array;
    render?: unknown;
    stats?: Record<string, number>;
    cachedLut?: unknown;
  }
  export interface ImageLoadObject {
    promise: Promise<Image>;
    cancelFn?: () => void;
  }
  export interface EnabledElement {
    element: HTMLElement;
    image?: Image;
    viewport?: Viewport;
    canvas: HTMLCanvasElement;
  }
  export interface ImageRenderedDetail {
    element: HTMLElement;
    viewport: Viewport;
    image: Image;
    renderTimeInMs: number;
  }
  export type MetadataProvider = (type: string, imageId: string) => unknown;

  export interface CornerstoneApi {
    enable(element: HTMLElement, options?: Record<string, unknown>): void;
    disable(element: HTMLElement): void;
    loadAndCacheImage(imageId: string, options?: Record<string, unknown>): Promise<Image>;
    loadImage(imageId: string, options?: Record<string, unknown>): Promise<Image>;
    displayImage(element: HTMLElement, image: Image, viewport?: Partial<Viewport>): void;
    getViewport(element: HTMLElement): Viewport | undefined;
    setViewport(element: HTMLElement, viewport: Partial<Viewport>): void;
    getDefaultViewportForImage(element: HTMLElement, image: Image): Viewport;
    getEnabledElement(element: HTMLElement): EnabledElement;
    getImage(element: HTMLElement): Image | undefined;
    resize(element: HTMLElement, forceFitToWindow?: boolean): void;
    fitToWindow(element: HTMLElement): void;
    reset(element: HTMLElement): void;
    updateImage(element: HTMLElement, invalidated?: boolean): void;
    pixelToCanvas(element: HTMLElement, pt: Point): Point;
    canvasToPixel(element: HTMLElement, pt: Point): Point;
    registerImageLoader(scheme: string, loader: (imageId: string, options?: Record<string, unknown>) => ImageLoadObject): void;
    metaData: {
      addProvider(provider: MetadataProvider, priority?: number): void;
      removeProvider(provider: MetadataProvider): void;
      get(type: string, imageId: string): unknown;
    };
    imageCache: {
      setMaximumSizeBytes(bytes: number): void;
      purgeCache(): void;
      getCacheInfo(): { maximumSizeInBytes: number; cacheSizeInBytes: number; numberOfImagesCached: number };
    };
    EVENTS: {
      IMAGE_RENDERED: string;
      NEW_IMAGE: string;
      ELEMENT_DISABLED: string;
    };
  }
  const cornerstone: CornerstoneApi;
  export default cornerstone;
}

declare module 'cornerstone-tools' {
  export type ToolClass = new (props?: Record<string, unknown>) => unknown;
  export interface CornerstoneToolsApi {
    external: { cornerstone: unknown; cornerstoneMath: unknown; Hammer: unknown };
    init(config?: Record<string, unknown>): void;
    addToolForElement(element: HTMLElement, tool: ToolClass, props?: Record<string, unknown>): void;
    setToolActiveForElement(element: HTMLElement, toolName: string, options: { mouseButtonMask: number }): void;
    setToolPassiveForElement(element: HTMLElement, toolName: string): void;
    setToolEnabledForElement(element: HTMLElement, toolName: string): void;
    getToolState(element: HTMLElement, toolName: string): { data: Array<Record<string, unknown>> } | undefined;
    clearToolState(element: HTMLElement, toolName: string): void;
    removeToolState(element: HTMLElement, toolName: string, data: Record<string, unknown>): void;
    getModule(name: 'manipulatorState'): { setters: { cancelActiveManipulatorsForElement(element: HTMLElement): void } };
    globalImageIdSpecificToolStateManager: { restoreToolState(state: Record<string, unknown>): void };
    WwwcTool: ToolClass;
    PanTool: ToolClass;
    ZoomTool: ToolClass;
    LengthTool: ToolClass;
    AngleTool: ToolClass;
    EllipticalRoiTool: ToolClass;
    EVENTS: { MEASUREMENT_COMPLETED: string; MEASUREMENT_MODIFIED: string; MEASUREMENT_REMOVED: string; MEASUREMENT_ADDED: string };
  }
  const cornerstoneTools: CornerstoneToolsApi;
  export default cornerstoneTools;
}

declare module 'cornerstone-math' {
  const cornerstoneMath: unknown;
  export default cornerstoneMath;
}

declare module 'hammerjs' {
  const Hammer: unknown;
  export default Hammer;
}

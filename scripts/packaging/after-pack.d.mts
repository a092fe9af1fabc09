export default function afterPack(context: object): Promise<void>;

s1 = say(text=hello);
